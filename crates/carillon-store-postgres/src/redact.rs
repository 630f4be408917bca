//! Hiding passwords in database connection strings before they reach a log, an error message or a
//! `Debug` output. The project's only such redactor: the server's configuration uses it too.

/// Replaces any password in a database connection string with `***`: the password of a URL's user
/// info (`postgres://user:secret@host/db`, also when the password holds an unencoded `@` or `/`:
/// the last `@` before the query ends the user info), a `password=` URL query parameter
/// (`?password=` or `&password=`), and a `password` key of libpq's `key=value` form, quoted or
/// not. Any scheme is read the same way. When in doubt it hides more, never less.
pub fn redact(url: &str) -> String {
    match url.find("://") {
        // Key-value pairs after a scheme are no URL libpq reads, but hide them all the same.
        Some(i) => redact_key_values(&redact_uri(&url[..i + 3], &url[i + 3..])),
        None => redact_key_values(url),
    }
}

fn redact_uri(scheme: &str, rest: &str) -> String {
    // The user info ends at the last '@' of the whole string: a password with an unencoded '/',
    // '@', '?' or '#' is still hidden (a '@' in the database name or the query hides a little
    // more than needed).
    let mut out = String::from(scheme);
    let after_userinfo = match rest.rfind('@') {
        Some(at) => {
            let userinfo = &rest[..at];
            match userinfo.find(':') {
                Some(colon) => {
                    out.push_str(&userinfo[..colon]);
                    out.push_str(":***");
                }
                None => out.push_str(userinfo),
            }
            &rest[at..]
        }
        None => rest,
    };
    let (before_query, query) = match after_userinfo.find('?') {
        Some(q) => (&after_userinfo[..q], Some(&after_userinfo[q + 1..])),
        None => (after_userinfo, None),
    };
    out.push_str(before_query);
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
    use super::redact;

    #[test]
    fn hides_user_info_passwords() {
        assert_eq!(redact("postgres://carillon:s3cret@db:5432/app"), "postgres://carillon:***@db:5432/app");
        assert_eq!(redact("postgresql://u:p%40ss@h/d?sslmode=disable"), "postgresql://u:***@h/d?sslmode=disable");
        assert_eq!(redact("mysql://root:toor@x"), "mysql://root:***@x");
        // A user name alone is no secret.
        assert_eq!(redact("postgres://postgres@127.0.0.1:5432/test"), "postgres://postgres@127.0.0.1:5432/test");
        assert_eq!(redact("postgres://h/d"), "postgres://h/d");
        assert_eq!(redact("postgres://u:@h/d"), "postgres://u:***@h/d");
    }

    #[test]
    fn hides_passwords_holding_at_signs_and_slashes() {
        assert_eq!(redact("postgres://u:p@ss@host/db"), "postgres://u:***@host/db");
        assert_eq!(redact("postgres://u:p@s@s@host:5432/db?sslmode=disable"), "postgres://u:***@host:5432/db?sslmode=disable");
        assert_eq!(redact("postgres://u:pa/s@ss@h/d"), "postgres://u:***@h/d");
        assert!(!redact("postgres://u:p@ss@host/db").contains("ss@host/db?"));
    }

    #[test]
    fn hides_passwords_holding_query_characters_and_key_values_after_a_scheme() {
        assert_eq!(redact("postgres://u:s3c?ret@h:1/db"), "postgres://u:***@h:1/db");
        assert_eq!(redact("postgres://u:s3c?ret@h:1/db?password=x"), "postgres://u:***@h:1/db?password=***");
        assert_eq!(redact("postgres://u:s3c#ret@h/db"), "postgres://u:***@h/db");
        assert!(!redact("postgres:// host=h password=hunter6").contains("hunter6"));
    }

    #[test]
    fn hides_query_passwords() {
        assert_eq!(redact("postgres://h/d?password=x"), "postgres://h/d?password=***");
        assert_eq!(redact("postgres://h/d?user=u&password=x&sslmode=disable"), "postgres://h/d?user=u&password=***&sslmode=disable");
        assert_eq!(redact("postgres://h/d?PASSWORD=x"), "postgres://h/d?PASSWORD=***");
        assert_eq!(redact("postgres://u:a@h/d?password=b"), "postgres://u:***@h/d?password=***");
        assert_eq!(redact("postgres://h/d?sslmode=disable"), "postgres://h/d?sslmode=disable");
    }

    #[test]
    fn hides_key_value_passwords() {
        assert_eq!(redact("host=h user=u password=secret dbname=d"), "host=h user=u password=*** dbname=d");
        assert_eq!(redact("host=h password=secret user=u"), "host=h password=*** user=u");
        assert_eq!(redact("host=h password = 'a \\' b' dbname=d"), "host=h password = *** dbname=d");
        assert_eq!(redact("host=h password='two words' user=u"), "host=h password=*** user=u");
        assert_eq!(redact("password=x"), "password=***");
        assert_eq!(redact("host=h"), "host=h");
        assert_eq!(redact(""), "");
    }
}
