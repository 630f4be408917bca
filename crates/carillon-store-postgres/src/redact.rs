//! Hiding passwords in connection strings before they reach a log or a `Debug` output.

/// Replaces any password in a PostgreSQL connection string with `***`: the password of a URL's
/// user info (`postgres://user:secret@host/db`), a `password=` URL query parameter, and a
/// `password=` key of the `key=value` form. When in doubt it hides more, never less.
pub fn redact_url(url: &str) -> String {
    match url.find("://") {
        Some(i) => redact_uri(&url[..i + 3], &url[i + 3..]),
        None => redact_key_values(url),
    }
}

fn redact_uri(scheme: &str, rest: &str) -> String {
    let (before_query, query) = match rest.find('?') {
        Some(q) => (&rest[..q], Some(&rest[q + 1..])),
        None => (rest, None),
    };
    // The user info ends at the last '@' before the query: a password with an unencoded '/' or
    // '@' is still hidden (a '@' in the database name hides a little more than needed).
    let mut out = String::from(scheme);
    match before_query.rfind('@') {
        Some(at) => {
            let userinfo = &before_query[..at];
            match userinfo.find(':') {
                Some(colon) => {
                    out.push_str(&userinfo[..colon]);
                    out.push_str(":***");
                }
                None => out.push_str(userinfo),
            }
            out.push_str(&before_query[at..]);
        }
        None => out.push_str(before_query),
    }
    if let Some(query) = query {
        out.push('?');
        let params: Vec<String> = query
            .split('&')
            .map(|p| match p.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => p.to_string(),
            })
            .collect();
        out.push_str(&params.join("&"));
    }
    out
}

/// `host=h password='a b' user=u`: values are either quoted (with `\'` and `\\` escapes) or run
/// to the next whitespace.
fn redact_key_values(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    loop {
        let trimmed = rest.trim_start();
        out.push_str(&rest[..rest.len() - trimmed.len()]);
        rest = trimmed;
        if rest.is_empty() {
            return out;
        }
        let key_end = rest.find(|c: char| c == '=' || c.is_whitespace()).unwrap_or(rest.len());
        let key = &rest[..key_end];
        out.push_str(key);
        rest = &rest[key_end..];
        let after_ws = rest.trim_start();
        if !after_ws.starts_with('=') {
            continue;
        }
        out.push_str(&rest[..rest.len() - after_ws.len()]);
        out.push('=');
        rest = &after_ws[1..];
        let value_start = rest.trim_start();
        out.push_str(&rest[..rest.len() - value_start.len()]);
        rest = value_start;
        let value_len = value_length(rest);
        if key.eq_ignore_ascii_case("password") {
            out.push_str("***");
        } else {
            out.push_str(&rest[..value_len]);
        }
        rest = &rest[value_len..];
    }
}

fn value_length(s: &str) -> usize {
    let mut chars = s.char_indices();
    if s.starts_with('\'') {
        chars.next();
        let mut escaped = false;
        for (i, c) in chars {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '\'' {
                return i + 1;
            }
        }
        s.len()
    } else {
        s.find(char::is_whitespace).unwrap_or(s.len())
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn hides_url_passwords() {
        assert_eq!(redact_url("postgres://carillon:s3cret@db:5432/app"), "postgres://carillon:***@db:5432/app");
        assert_eq!(redact_url("postgresql://u:p%40ss@h/d?sslmode=disable"), "postgresql://u:***@h/d?sslmode=disable");
        assert_eq!(redact_url("postgres://u:pa/s@ss@h/d"), "postgres://u:***@h/d");
        assert_eq!(redact_url("postgres://postgres@127.0.0.1:5432/test"), "postgres://postgres@127.0.0.1:5432/test");
        assert_eq!(redact_url("postgres://h/d?user=u&password=x&sslmode=disable"), "postgres://h/d?user=u&password=***&sslmode=disable");
        assert_eq!(redact_url("postgres://h/d"), "postgres://h/d");
    }

    #[test]
    fn hides_key_value_passwords() {
        assert_eq!(redact_url("host=h user=u password=secret dbname=d"), "host=h user=u password=*** dbname=d");
        assert_eq!(redact_url("host=h password = 'a \\' b' dbname=d"), "host=h password = *** dbname=d");
        assert_eq!(redact_url("password=x"), "password=***");
        assert_eq!(redact_url("host=h"), "host=h");
    }
}
