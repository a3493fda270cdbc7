//! Coordinator persistence: leases, create attempts, runs, run events and log
//! chunks in tables, on SQLite (default) or PostgreSQL, behind one API.
