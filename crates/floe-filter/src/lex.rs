//! Tokens of the expression language, with where they are.

/// One token and its position (1-based line and column).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub kind: Tok,
    pub line: usize,
    pub col: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tok {
    /// A keyword, number, address, name...: anything between separators.
    Word(String),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    /// `=`, `==`, `!=`, `<`, `<=`, `>`, `>=`.
    Op(String),
    /// `!` alone: not.
    Bang,
    End,
}

impl Tok {
    pub fn describe(&self) -> String {
        match self {
            Tok::Word(w) => format!("{w:?}"),
            Tok::LParen => "\"(\"".into(),
            Tok::RParen => "\")\"".into(),
            Tok::LBracket => "\"[\"".into(),
            Tok::RBracket => "\"]\"".into(),
            Tok::Comma => "\",\"".into(),
            Tok::Op(o) => format!("{o:?}"),
            Tok::Bang => "\"!\"".into(),
            Tok::End => "the end of the expression".into(),
        }
    }
}

/// Splits `text` into tokens. `#` starts a comment to the end of the line.
pub fn lex(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let (mut i, mut line, mut col) = (0, 1, 1);
    let sep = |c: char| c.is_whitespace() || "()[],=<>!#".contains(c);
    while i < chars.len() {
        let c = chars[i];
        let (tl, tc) = (line, col);
        let mut push = |kind: Tok| {
            out.push(Token {
                kind,
                line: tl,
                col: tc,
            })
        };
        if c == '\n' {
            i += 1;
            line += 1;
            col = 1;
            continue;
        }
        if c.is_whitespace() {
            i += 1;
            col += 1;
            continue;
        }
        if c == '#' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
        let (kind, len) = match c {
            '(' => (Tok::LParen, 1),
            ')' => (Tok::RParen, 1),
            '[' => (Tok::LBracket, 1),
            ']' => (Tok::RBracket, 1),
            ',' => (Tok::Comma, 1),
            _ if ["==", "!=", "<=", ">="].contains(&two.as_str()) => (Tok::Op(two.clone()), 2),
            '=' | '<' | '>' => (Tok::Op(c.to_string()), 1),
            '!' => (Tok::Bang, 1),
            _ => {
                let start = i;
                let mut j = i;
                while j < chars.len() && !sep(chars[j]) {
                    j += 1;
                }
                (Tok::Word(chars[start..j].iter().collect()), j - start)
            }
        };
        push(kind);
        i += len;
        col += len;
    }
    out.push(Token {
        kind: Tok::End,
        line,
        col,
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_ops_and_positions() {
        let t = lex("proto tcp and\n  bytes>1M # comment\n(dst net 2001:db8::/32)");
        let kinds: Vec<Tok> = t.iter().map(|t| t.kind.clone()).collect();
        assert_eq!(
            kinds,
            vec![
                Tok::Word("proto".into()),
                Tok::Word("tcp".into()),
                Tok::Word("and".into()),
                Tok::Word("bytes".into()),
                Tok::Op(">".into()),
                Tok::Word("1M".into()),
                Tok::LParen,
                Tok::Word("dst".into()),
                Tok::Word("net".into()),
                Tok::Word("2001:db8::/32".into()),
                Tok::RParen,
                Tok::End
            ]
        );
        assert_eq!((t[3].line, t[3].col), (2, 3));
        assert_eq!((t[6].line, t[6].col), (3, 1));
    }
}
