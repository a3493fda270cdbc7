//! Redaction of anything credential-shaped before it reaches a message.

/// Drops PEM blocks and masks token, password, secret and bearer values and
/// kubeconfig `*-data` fields.
pub fn redact(text: &str) -> String {
    let mut out = String::new();
    let mut in_pem = false;
    for line in text.split_inclusive('\n') {
        if line.contains("-----BEGIN ") {
            in_pem = true;
            out.push_str("[REDACTED PEM]");
        }
        if in_pem {
            if line.contains("-----END ") {
                in_pem = false;
                if line.ends_with('\n') {
                    out.push('\n');
                }
            }
            continue;
        }
        match line.strip_suffix('\n') {
            Some(body) => {
                out.push_str(&mask_words(body));
                out.push('\n');
            }
            None => out.push_str(&mask_words(line)),
        }
    }
    out
}

fn mask_words(line: &str) -> String {
    const MARKERS: [&str; 5] = ["token", "password", "secret", "bearer", "-data"];
    let mut words: Vec<String> = Vec::new();
    let mut mask_next = false;
    for word in line.split(' ') {
        if mask_next && !word.trim().is_empty() {
            words.push("[REDACTED]".into());
            mask_next = false;
            continue;
        }
        let lower = word.to_ascii_lowercase();
        if let Some((key, value)) = word
            .split_once(['=', ':'])
            .filter(|(key, _)| MARKERS.iter().any(|m| key.to_ascii_lowercase().contains(m)))
        {
            if value.trim().is_empty() {
                mask_next = true;
                words.push(word.to_string());
            } else {
                let separator = &word[key.len()..key.len() + 1];
                words.push(format!("{key}{separator}[REDACTED]"));
            }
            continue;
        }
        if lower == "bearer" {
            mask_next = true;
        }
        words.push(word.to_string());
    }
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn masks_credentials_and_pem_blocks() {
        let text = "token=abc123 Authorization: Bearer xyz\nclient-key-data: QUJD\npassword: hunter2\n-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\nnamespace x not found";
        let redacted = redact(text);
        for secret in ["abc123", "xyz", "QUJD", "hunter2", "AAAA"] {
            assert!(!redacted.contains(secret), "{secret} leaked: {redacted}");
        }
        assert!(redacted.contains("namespace x not found"));
        assert!(redacted.contains("[REDACTED PEM]"));
        assert_eq!(
            redact("token: abc\nnext line"),
            "token: [REDACTED]\nnext line"
        );
    }
}
