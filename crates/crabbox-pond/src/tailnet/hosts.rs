//! On-box name resolution for Tailscale-enabled pond members: a refresher that
//! writes `<ip> <host>.cbx` for every tailnet peer carrying the pond tag into
//! `/etc/hosts.cbx` and a marked block of `/etc/hosts`, run by a systemd timer.

/// Where the refresher is installed on the box.
pub const REFRESHER_PATH: &str = "/usr/local/bin/crabbox-pond-hosts";
pub const HOSTS_CBX_PATH: &str = "/etc/hosts.cbx";
pub const BLOCK_BEGIN: &str = "# crabbox pond hosts begin";
pub const BLOCK_END: &str = "# crabbox pond hosts end";
pub const MANAGED_HEADER: &str = "# managed by crabbox-pond-hosts; do not edit";

/// The refresher program, `crabbox-pond-hosts <tag> <out> [<system hosts>]`.
/// Needs `tailscale` and `jq`; when `tailscale status` fails it exits 0 and
/// leaves both files untouched. Files are replaced atomically (temp + rename).
pub fn refresher_script() -> String {
    format!(
        r#"#!/bin/sh
set -eu
tag="$1"
out="$2"
hosts="${{3:-/etc/hosts}}"
status=$(tailscale status --json 2>/dev/null) || exit 0
entries=$(printf '%s' "$status" | jq -r --arg tag "$tag" '
  [(.Peer // {{}}) | to_entries[] | .value
   | select((.Tags // []) | index($tag))
   | {{ip: ((.TailscaleIPs // [])[0] // ""), host: ((.HostName // "") | sub("^crabbox-"; ""))}}
   | select(.ip != "" and .host != "")]
  | unique_by(.ip) | .[] | "\(.ip) \(.host).cbx"') || exit 0
tmp="$out.tmp.$$"
{{
  echo '{MANAGED_HEADER}'
  if [ -n "$entries" ]; then printf '%s\n' "$entries"; fi
}} > "$tmp"
chmod 0644 "$tmp"
mv -f "$tmp" "$out"
if [ -f "$hosts" ]; then
  htmp="$hosts.tmp.$$"
  awk '$0 == "{BLOCK_BEGIN}" {{skip = 1; next}} $0 == "{BLOCK_END}" {{skip = 0; next}} !skip' "$hosts" > "$htmp"
  {{
    echo '{BLOCK_BEGIN}'
    if [ -n "$entries" ]; then printf '%s\n' "$entries"; fi
    echo '{BLOCK_END}'
  }} >> "$htmp"
  chmod 0644 "$htmp"
  mv -f "$htmp" "$hosts"
fi
"#
    )
}

/// The cloud-init shell fragment that installs the refresher and its timer,
/// runs it once and asserts `/etc/hosts.cbx` exists — only for a lease with
/// Tailscale enabled **and** a pond tag; `None` otherwise.
pub fn hosts_refresher_snippet(tailscale_enabled: bool, pond_tag: Option<&str>) -> Option<String> {
    let tag = pond_tag.filter(|tag| !tag.is_empty())?;
    if !tailscale_enabled {
        return None;
    }
    let tag = shell_quote(tag);
    let script = refresher_script();
    Some(format!(
        r#"# crabbox pond: peer names from the tailnet into {HOSTS_CBX_PATH}
[ -e {HOSTS_CBX_PATH} ] || install -m 0644 /dev/null {HOSTS_CBX_PATH}
cat > {REFRESHER_PATH} <<'CRABBOX_POND_HOSTS'
{script}CRABBOX_POND_HOSTS
chmod 0755 {REFRESHER_PATH}
cat > /etc/systemd/system/crabbox-pond-hosts.service <<'CRABBOX_POND_UNIT'
[Unit]
Description=Refresh crabbox pond peer names
After=tailscaled.service network-online.target
Wants=network-online.target

[Service]
Type=oneshot
ExecStart={REFRESHER_PATH} {tag} {HOSTS_CBX_PATH} /etc/hosts
CRABBOX_POND_UNIT
cat > /etc/systemd/system/crabbox-pond-hosts.timer <<'CRABBOX_POND_UNIT'
[Unit]
Description=Refresh crabbox pond peer names every 30 seconds

[Timer]
OnBootSec=10s
OnUnitActiveSec=30s
AccuracySec=2s

[Install]
WantedBy=timers.target
CRABBOX_POND_UNIT
systemctl daemon-reload
systemctl enable --now crabbox-pond-hosts.timer
{REFRESHER_PATH} {tag} {HOSTS_CBX_PATH} /etc/hosts
test -f {HOSTS_CBX_PATH}
"#
    ))
}

/// Single-quotes `value` for sh.
fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_with_tailscale_and_a_pond() {
        assert_eq!(
            hosts_refresher_snippet(false, Some("tag:cbx-pond-a-b")),
            None
        );
        assert_eq!(hosts_refresher_snippet(true, None), None);
        assert_eq!(hosts_refresher_snippet(true, Some("")), None);
        let snippet = hosts_refresher_snippet(true, Some("tag:cbx-pond-a-b")).unwrap();
        assert!(snippet.contains("ExecStart=/usr/local/bin/crabbox-pond-hosts 'tag:cbx-pond-a-b' /etc/hosts.cbx /etc/hosts"));
        assert!(snippet.contains("OnUnitActiveSec=30s"));
        assert!(snippet.contains("systemctl enable --now crabbox-pond-hosts.timer"));
        assert!(snippet.trim_end().ends_with("test -f /etc/hosts.cbx"));
        assert_eq!(shell_quote("a'b"), r"'a'\''b'");
    }
}
