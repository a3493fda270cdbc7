//! `WHERE` clauses assembled from optional filters, with numbered placeholders
//! that both dialects accept.

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AssertSqlSafe};

/// Live lease states, inlined into SQL.
pub(crate) const LIVE_STATES: &str = "('provisioning', 'active')";

/// `limit` clamped to `1..=500`, with 0 meaning `default`.
pub(crate) fn clamp_limit(limit: i64, default: i64) -> i64 {
    if limit == 0 {
        default
    } else {
        limit.clamp(1, 500)
    }
}

#[derive(Debug, Default)]
pub(crate) struct Where {
    clauses: Vec<String>,
    values: Vec<String>,
}

impl Where {
    pub(crate) fn equals(&mut self, column: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.clause(&format!("{column} = ?"), &[value]);
        }
    }

    /// Adds `template` with each `?` replaced by the next placeholder for `values`.
    pub(crate) fn clause(&mut self, template: &str, values: &[&str]) {
        let mut clause = String::with_capacity(template.len() + 8);
        let mut values = values.iter();
        for piece in template.split_inclusive('?') {
            match piece.strip_suffix('?') {
                Some(text) => {
                    let value = values.next().expect("a value for every placeholder");
                    self.values.push((*value).to_string());
                    clause.push_str(text);
                    clause.push_str(&format!("${}", self.values.len()));
                }
                None => clause.push_str(piece),
            }
        }
        self.clauses.push(clause);
    }

    /// `select` filtered, then `order_by`, limited to `limit` rows.
    pub(crate) fn query(
        self,
        select: &str,
        order_by: &str,
        limit: i64,
    ) -> Query<'static, Any, AnyArguments> {
        let mut sql = select.to_string();
        if !self.clauses.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&self.clauses.join(" AND "));
        }
        sql.push_str(&format!(
            " ORDER BY {order_by} LIMIT ${}",
            self.values.len() + 1
        ));
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for value in self.values {
            query = query.bind(value);
        }
        query.bind(limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_clamp_and_default() {
        assert_eq!(clamp_limit(0, 100), 100);
        assert_eq!(clamp_limit(-3, 100), 1);
        assert_eq!(clamp_limit(7, 100), 7);
        assert_eq!(clamp_limit(10_000, 100), 500);
    }

    #[test]
    fn numbers_placeholders_across_clauses() {
        let mut filter = Where::default();
        filter.equals("state", Some("active"));
        filter.equals("owner", None);
        filter.clause("(owner = ? AND org = ?)", &["a", "b"]);
        assert_eq!(filter.clauses, ["state = $1", "(owner = $2 AND org = $3)"]);
        assert_eq!(filter.values, ["active", "a", "b"]);
    }
}
