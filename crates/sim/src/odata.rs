//! OData query options for Graph collections: `$filter` (a parser and evaluator for the
//! subset Graph supports on directory objects: eq, ne, in, startswith, endswith, `any()`
//! lambdas over values or objects, `null`, and, or, not, parentheses), `$search` (tokenised
//! prefix match, needs `ConsistencyLevel: eventual`), `$orderby` (the properties Microsoft
//! documents for directory objects, with its advanced-query rules), `$select`, `$top`,
//! `$count` and `$skiptoken` paging. `$expand` is answered with a 501: not modelled.

use crate::error::GraphError;
use axum::http::StatusCode;
use base64::Engine;
use serde_json::{Map, Value};

/// Parsed query options of one request.
#[derive(Debug, Clone, Default)]
pub struct OData {
    pub filter: Option<String>,
    pub search: Option<String>,
    pub select: Option<Vec<String>>,
    pub top: Option<usize>,
    pub count: bool,
    /// `$orderby`: (property, descending).
    pub orderby: Option<Vec<(String, bool)>>,
    /// The request carried `ConsistencyLevel: eventual` (set by `Ctx::odata`).
    pub eventual: bool,
    pub skip: usize,
    /// All query pairs as received (for building `@odata.nextLink`).
    pub raw: Vec<(String, String)>,
}

impl OData {
    /// Parses a raw query string.
    pub fn parse(query: &str) -> Result<OData, GraphError> {
        let raw: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let mut o = OData {
            raw: raw.clone(),
            ..Default::default()
        };
        for (k, v) in raw {
            match k.to_ascii_lowercase().trim_start_matches('$') {
                "filter" => o.filter = Some(v),
                "search" => o.search = Some(v),
                "select" => {
                    o.select = Some(
                        v.split(',')
                            .map(|s| s.trim().to_string())
                            .filter(|s| !s.is_empty())
                            .collect(),
                    )
                }
                "top" => {
                    let n: i64 = v.trim().parse().map_err(|_| {
                        GraphError::new(
                            StatusCode::BAD_REQUEST,
                            "BadRequest",
                            format!("Invalid value '{v}' for query option '$top'."),
                        )
                    })?;
                    if !(1..=999).contains(&n) {
                        return Err(GraphError::bad_request(format!(
                            "Invalid page size specified: '{n}'. Must be between 1 and 999 inclusive."
                        )));
                    }
                    o.top = Some(n as usize);
                }
                "count" => o.count = v.eq_ignore_ascii_case("true"),
                "orderby" => o.orderby = Some(parse_orderby(&v)?),
                "expand" => {
                    return Err(crate::graph::paths::not_implemented(&format!(
                        "$expand ('{v}')"
                    )))
                }
                "skiptoken" => {
                    o.skip = decode_skiptoken(&v)
                        .ok_or_else(|| GraphError::bad_request("Invalid or expired skip token."))?
                }
                _ => {}
            }
        }
        Ok(o)
    }

    /// `$select` projection of one object; unknown properties are a 400.
    pub fn project(&self, v: Value, type_name: &str) -> Result<Value, GraphError> {
        let Some(sel) = &self.select else {
            return Ok(v);
        };
        let Value::Object(src) = v else {
            return Ok(v);
        };
        let mut out = Map::new();
        if let Some(t) = src.get("@odata.type") {
            out.insert("@odata.type".into(), t.clone());
        }
        for name in sel {
            let found = src.iter().find(|(k, _)| k.eq_ignore_ascii_case(name));
            match found {
                Some((k, val)) => {
                    out.insert(k.clone(), val.clone());
                }
                None => {
                    return Err(GraphError::new(
                        StatusCode::BAD_REQUEST,
                        "BadRequest",
                        format!("Could not find a property named '{name}' on type 'microsoft.graph.{type_name}'."),
                    ))
                }
            }
        }
        Ok(Value::Object(out))
    }

    /// The `@odata.context` suffix: `users` or `users(id,displayName)`.
    pub fn context_suffix(&self, entity_set: &str) -> String {
        match &self.select {
            Some(sel) => format!("{entity_set}({})", sel.join(",")),
            None => entity_set.to_string(),
        }
    }

    /// The `@odata.nextLink` for the page after `next_skip`.
    pub fn next_link(&self, url_base: &str, next_skip: usize) -> String {
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.raw {
            if !k.eq_ignore_ascii_case("$skiptoken") {
                ser.append_pair(k, v);
            }
        }
        ser.append_pair("$skiptoken", &encode_skiptoken(next_skip));
        format!("{url_base}?{}", ser.finish())
    }
}

fn parse_orderby(v: &str) -> Result<Vec<(String, bool)>, GraphError> {
    v.split(',')
        .map(|part| {
            let mut words = part.split_whitespace();
            let prop = words
                .next()
                .ok_or_else(|| GraphError::bad_request(format!("Invalid $orderby '{v}'.")))?;
            let desc = match words.next().map(str::to_ascii_lowercase).as_deref() {
                None | Some("asc") => false,
                Some("desc") => true,
                Some(other) => {
                    return Err(GraphError::bad_request(format!(
                        "Invalid $orderby direction '{other}' in '{v}'."
                    )))
                }
            };
            Ok((prop.to_string(), desc))
        })
        .collect()
}

/// `$orderby` support per entity type, from Microsoft's "Support for sorting by properties of
/// directory objects": (property, needs advanced query parameters).
const ORDERBY: &[(&str, &[(&str, bool)])] = &[
    (
        "application",
        &[
            ("displayName", true),
            ("createdDateTime", true),
            ("deletedDateTime", true),
        ],
    ),
    (
        "servicePrincipal",
        &[
            ("displayName", true),
            ("createdDateTime", true),
            ("deletedDateTime", true),
        ],
    ),
    (
        "user",
        &[
            ("displayName", false),
            ("userPrincipalName", false),
            ("createdDateTime", true),
            ("deletedDateTime", true),
        ],
    ),
    (
        "group",
        &[("displayName", false), ("deletedDateTime", true)],
    ),
];

fn compare(a: &Value, b: &Value) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Greater,
        (_, Value::Null) => Ordering::Less,
        (Value::String(x), Value::String(y)) => x.to_lowercase().cmp(&y.to_lowercase()),
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ => Ordering::Equal,
    }
}

impl OData {
    /// Sorts `items` by `$orderby`, or says clearly why the practice tenant will not: Graph
    /// sorts only some properties of directory objects, some of them only in advanced queries
    /// (`ConsistencyLevel: eventual` + `$count=true`, also needed with `$filter`).
    pub fn sort(&self, items: &mut [Value], type_name: &str) -> Result<(), GraphError> {
        let Some(keys) = &self.orderby else {
            return Ok(());
        };
        let Some((_, props)) = ORDERBY.iter().find(|(t, _)| *t == type_name) else {
            return Err(GraphError::unsupported_query(format!(
                "$orderby on {type_name} collections is not supported by the practice tenant (appgrant-sim)."
            )));
        };
        let advanced = self.eventual && self.count;
        for (prop, _) in keys {
            let Some((_, needs_advanced)) =
                props.iter().find(|(p, _)| p.eq_ignore_ascii_case(prop))
            else {
                let known: Vec<&str> = props.iter().map(|(p, _)| *p).collect();
                return Err(GraphError::unsupported_query(format!(
                    "Sorting by '{prop}' is not supported by the practice tenant (appgrant-sim); Microsoft Graph sorts {type_name} collections by {}.",
                    known.join(", ")
                )));
            };
            if (*needs_advanced || self.filter.is_some()) && !advanced {
                return Err(GraphError::unsupported_query(
                    "Sorting not supported for current query. Add $count=true and the header 'ConsistencyLevel: eventual'.",
                ));
            }
        }
        items.sort_by(|a, b| {
            keys.iter()
                .map(|(p, desc)| {
                    let o = compare(get(a, p), get(b, p));
                    if *desc {
                        o.reverse()
                    } else {
                        o
                    }
                })
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        Ok(())
    }
}

fn encode_skiptoken(n: usize) -> String {
    format!(
        "RFNwdAIA{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("sim-offset:{n}"))
    )
}

fn decode_skiptoken(t: &str) -> Option<usize> {
    let rest = t.strip_prefix("RFNwdAIA")?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(rest)
        .ok()?;
    String::from_utf8(bytes)
        .ok()?
        .strip_prefix("sim-offset:")?
        .parse()
        .ok()
}

/// Builds one page of a collection response from the full, filtered list (sorted first by
/// `$orderby`).
pub fn page(
    od: &OData,
    mut items: Vec<Value>,
    total: usize,
    context: String,
    url_base: &str,
    type_name: &str,
    default_top: usize,
) -> Result<Value, GraphError> {
    od.sort(&mut items, type_name)?;
    page_unsorted(
        od,
        total,
        context,
        url_base,
        type_name,
        default_top,
        |start, end| items.into_iter().skip(start).take(end - start).collect(),
    )
}

/// Builds one page; `fetch(start, end)` yields only the items of the page. The caller cannot
/// sort this way: with `$orderby`, build the list and use [`page`].
pub fn page_with(
    od: &OData,
    total: usize,
    context: String,
    url_base: &str,
    type_name: &str,
    default_top: usize,
    fetch: impl FnOnce(usize, usize) -> Vec<Value>,
) -> Result<Value, GraphError> {
    if od.orderby.is_some() {
        return Err(GraphError::unsupported_query(format!(
            "$orderby on this {type_name} collection is not supported by the practice tenant (appgrant-sim)."
        )));
    }
    page_unsorted(od, total, context, url_base, type_name, default_top, fetch)
}

fn page_unsorted(
    od: &OData,
    total: usize,
    context: String,
    url_base: &str,
    type_name: &str,
    default_top: usize,
    fetch: impl FnOnce(usize, usize) -> Vec<Value>,
) -> Result<Value, GraphError> {
    let top = od.top.unwrap_or(default_top);
    let mut body = Map::new();
    body.insert("@odata.context".into(), Value::String(context));
    if od.count {
        body.insert("@odata.count".into(), Value::from(total));
    }
    let start = od.skip.min(total);
    let end = (start + top).min(total);
    let mut value = Vec::with_capacity(end - start);
    for v in fetch(start, end) {
        value.push(od.project(v, type_name)?);
    }
    if end < total {
        body.insert(
            "@odata.nextLink".into(),
            Value::String(od.next_link(url_base, end)),
        );
    }
    body.insert("value".into(), Value::Array(value));
    Ok(Value::Object(body))
}

// ---------------------------------------------------------------------------------------
// $filter

/// A literal in a filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Str(String),
    Bool(bool),
    Null,
    Num(f64),
}

/// A parsed filter expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Cmp {
        prop: String,
        ne: bool,
        lit: Lit,
    },
    In {
        prop: String,
        lits: Vec<Lit>,
    },
    StartsWith {
        prop: String,
        lit: String,
    },
    EndsWith {
        prop: String,
        lit: String,
    },
    /// `prop/any(x: x eq lit)` or, over objects, `prop/any(x: x/sub eq lit)`.
    Any {
        prop: String,
        sub: Option<String>,
        lit: Lit,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    LParen,
    RParen,
    Comma,
    Colon,
}

fn bad_filter(filter: &str, why: &str) -> GraphError {
    GraphError::new(
        StatusCode::BAD_REQUEST,
        "BadRequest",
        format!("Invalid filter clause: {why} in '{filter}'."),
    )
}

fn tokenize(s: &str) -> Result<Vec<Tok>, GraphError> {
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' => i += 1,
            '(' => {
                out.push(Tok::LParen);
                i += 1
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1
            }
            ':' => {
                out.push(Tok::Colon);
                i += 1
            }
            '\'' => {
                let mut v = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(bad_filter(s, "unterminated string literal")),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            v.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(ch) => {
                            v.push(*ch);
                            i += 1;
                        }
                    }
                }
                out.push(Tok::Str(v));
            }
            c if c.is_alphanumeric() || "._/-@$".contains(c) => {
                let mut v = String::new();
                while let Some(ch) = chars.get(i) {
                    if ch.is_alphanumeric() || "._/-@$".contains(*ch) {
                        v.push(*ch);
                        i += 1;
                    } else {
                        break;
                    }
                }
                out.push(Tok::Ident(v));
            }
            other => {
                return Err(bad_filter(
                    s,
                    &format!("syntax error at position {i} ('{other}')"),
                ))
            }
        }
    }
    Ok(out)
}

struct Parser<'a> {
    toks: Vec<Tok>,
    pos: usize,
    src: &'a str,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn err(&self, why: &str) -> GraphError {
        bad_filter(self.src, why)
    }
    fn kw(&self, k: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(s)) if s.eq_ignore_ascii_case(k))
    }
    fn expect(&mut self, t: Tok) -> Result<(), GraphError> {
        if self.next() == Some(t.clone()) {
            Ok(())
        } else {
            Err(self.err(&format!("expected {t:?}")))
        }
    }
    fn or(&mut self) -> Result<Expr, GraphError> {
        let mut l = self.and()?;
        while self.kw("or") {
            self.pos += 1;
            let r = self.and()?;
            l = Expr::Or(Box::new(l), Box::new(r));
        }
        Ok(l)
    }
    fn and(&mut self) -> Result<Expr, GraphError> {
        let mut l = self.unary()?;
        while self.kw("and") {
            self.pos += 1;
            let r = self.unary()?;
            l = Expr::And(Box::new(l), Box::new(r));
        }
        Ok(l)
    }
    fn unary(&mut self) -> Result<Expr, GraphError> {
        if self.kw("not") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        self.primary()
    }
    fn literal(&mut self) -> Result<Lit, GraphError> {
        match self.next() {
            Some(Tok::Str(s)) => Ok(Lit::Str(s)),
            Some(Tok::Ident(s)) if s == "true" => Ok(Lit::Bool(true)),
            Some(Tok::Ident(s)) if s == "false" => Ok(Lit::Bool(false)),
            Some(Tok::Ident(s)) if s == "null" => Ok(Lit::Null),
            Some(Tok::Ident(s)) => {
                if let Ok(n) = s.parse::<f64>() {
                    Ok(Lit::Num(n))
                } else if uuid::Uuid::parse_str(&s).is_ok() {
                    Ok(Lit::Str(s))
                } else {
                    Err(self.err(&format!("'{s}' is not a literal")))
                }
            }
            _ => Err(self.err("expected a literal")),
        }
    }
    fn primary(&mut self) -> Result<Expr, GraphError> {
        match self.next() {
            Some(Tok::LParen) => {
                let e = self.or()?;
                self.expect(Tok::RParen)?;
                Ok(e)
            }
            Some(Tok::Ident(name)) => {
                let lower = name.to_ascii_lowercase();
                if (lower == "startswith" || lower == "endswith")
                    && self.peek() == Some(&Tok::LParen)
                {
                    self.pos += 1;
                    let prop = match self.next() {
                        Some(Tok::Ident(p)) => p,
                        _ => return Err(self.err("expected a property name")),
                    };
                    self.expect(Tok::Comma)?;
                    let lit = match self.next() {
                        Some(Tok::Str(s)) => s,
                        _ => return Err(self.err("expected a string literal")),
                    };
                    self.expect(Tok::RParen)?;
                    return Ok(if lower == "startswith" {
                        Expr::StartsWith { prop, lit }
                    } else {
                        Expr::EndsWith { prop, lit }
                    });
                }
                if let Some(prop) = name
                    .strip_suffix("/any")
                    .or_else(|| name.strip_suffix("/ANY"))
                {
                    let prop = prop.to_string();
                    self.expect(Tok::LParen)?;
                    let var = match self.next() {
                        Some(Tok::Ident(v)) => v,
                        _ => return Err(self.err("expected a lambda variable")),
                    };
                    self.expect(Tok::Colon)?;
                    let sub = match self.next() {
                        Some(Tok::Ident(v)) if v == var => None,
                        Some(Tok::Ident(v)) => match v.split_once('/') {
                            Some((head, sub)) if head == var && !sub.is_empty() => {
                                Some(sub.to_string())
                            }
                            _ => return Err(self.err("expected the lambda variable")),
                        },
                        _ => return Err(self.err("expected the lambda variable")),
                    };
                    if !self.kw("eq") {
                        return Err(self.err("only 'eq' is supported inside any()"));
                    }
                    self.pos += 1;
                    let lit = self.literal()?;
                    self.expect(Tok::RParen)?;
                    return Ok(Expr::Any { prop, sub, lit });
                }
                if self.kw("eq") || self.kw("ne") {
                    let ne = self.kw("ne");
                    self.pos += 1;
                    let lit = self.literal()?;
                    return Ok(Expr::Cmp {
                        prop: name,
                        ne,
                        lit,
                    });
                }
                if self.kw("in") {
                    self.pos += 1;
                    self.expect(Tok::LParen)?;
                    let mut lits = vec![self.literal()?];
                    while self.peek() == Some(&Tok::Comma) {
                        self.pos += 1;
                        lits.push(self.literal()?);
                    }
                    self.expect(Tok::RParen)?;
                    return Ok(Expr::In { prop: name, lits });
                }
                if let Some(Tok::Ident(op)) = self.peek() {
                    if ["gt", "ge", "lt", "le"].contains(&op.to_ascii_lowercase().as_str()) {
                        return Err(GraphError::unsupported_query(format!(
                            "Unsupported or invalid query filter clause specified for property '{name}'."
                        )));
                    }
                }
                Err(self.err(&format!("syntax error after '{name}'")))
            }
            _ => Err(self.err("syntax error")),
        }
    }
}

/// Parses a `$filter` and checks every property against `allowed` (case-insensitive).
pub fn parse_filter(src: &str, allowed: &[&str], resource: &str) -> Result<Expr, GraphError> {
    let toks = tokenize(src)?;
    let mut p = Parser { toks, pos: 0, src };
    let e = p.or()?;
    if p.pos != p.toks.len() {
        return Err(bad_filter(src, "unexpected trailing input"));
    }
    check_props(&e, allowed, resource)?;
    Ok(e)
}

fn check_props(e: &Expr, allowed: &[&str], resource: &str) -> Result<(), GraphError> {
    let prop = match e {
        Expr::And(a, b) | Expr::Or(a, b) => {
            check_props(a, allowed, resource)?;
            return check_props(b, allowed, resource);
        }
        Expr::Not(a) => return check_props(a, allowed, resource),
        Expr::Cmp { prop, .. }
        | Expr::In { prop, .. }
        | Expr::StartsWith { prop, .. }
        | Expr::EndsWith { prop, .. }
        | Expr::Any { prop, .. } => prop,
    };
    if allowed.iter().any(|a| a.eq_ignore_ascii_case(prop)) {
        Ok(())
    } else {
        Err(GraphError::unsupported_query(format!(
            "Unsupported or invalid query filter clause specified for property '{prop}' of resource '{resource}'."
        )))
    }
}

/// A property of a JSON object by case-insensitive name (`Null` when missing), as `$filter`,
/// `$search` and `$orderby` see it.
pub fn get<'a>(v: &'a Value, prop: &str) -> &'a Value {
    match v.as_object() {
        Some(o) => o
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(prop))
            .map(|(_, v)| v)
            .unwrap_or(&Value::Null),
        None => &Value::Null,
    }
}

fn lit_eq(v: &Value, lit: &Lit) -> bool {
    match (v, lit) {
        (Value::String(s), Lit::Str(l)) => s.eq_ignore_ascii_case(l),
        (Value::Bool(b), Lit::Bool(l)) => b == l,
        (Value::Null, Lit::Null) => true,
        (Value::Number(n), Lit::Num(l)) => n.as_f64() == Some(*l),
        _ => false,
    }
}

/// Evaluates a filter against one object.
pub fn eval(e: &Expr, v: &Value) -> bool {
    match e {
        Expr::And(a, b) => eval(a, v) && eval(b, v),
        Expr::Or(a, b) => eval(a, v) || eval(b, v),
        Expr::Not(a) => !eval(a, v),
        Expr::Cmp { prop, ne, lit } => lit_eq(get(v, prop), lit) != *ne,
        Expr::In { prop, lits } => lits.iter().any(|l| lit_eq(get(v, prop), l)),
        Expr::StartsWith { prop, lit } => get(v, prop)
            .as_str()
            .is_some_and(|s| s.to_lowercase().starts_with(&lit.to_lowercase())),
        Expr::EndsWith { prop, lit } => get(v, prop)
            .as_str()
            .is_some_and(|s| s.to_lowercase().ends_with(&lit.to_lowercase())),
        Expr::Any { prop, sub, lit } => get(v, prop).as_array().is_some_and(|a| {
            a.iter().any(|x| match sub {
                Some(p) => lit_eq(get(x, p), lit),
                None => lit_eq(x, lit),
            })
        }),
    }
}

// ---------------------------------------------------------------------------------------
// $search

/// A parsed `$search`: terms `(property, words)` joined by OR (any) or AND (all).
#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    pub terms: Vec<(String, Vec<String>)>,
    pub any: bool,
}

/// Parses `"displayName:robin" OR "mail:robin"`.
pub fn parse_search(src: &str, allowed: &[&str]) -> Result<Search, GraphError> {
    let bad = |why: &str| {
        GraphError::new(
            StatusCode::BAD_REQUEST,
            "Request_UnsupportedQuery",
            format!("Syntax error: {why} in $search '{src}'."),
        )
    };
    let mut terms = Vec::new();
    let mut any = true;
    let mut rest = src.trim();
    let mut first = true;
    while !rest.is_empty() {
        if !first {
            let (op, r) = rest.split_once(' ').ok_or_else(|| bad("expected OR/AND"))?;
            match op {
                "OR" => any = true,
                "AND" => any = false,
                _ => return Err(bad("expected OR/AND between terms")),
            }
            rest = r.trim_start();
        }
        first = false;
        let r = rest
            .strip_prefix('"')
            .ok_or_else(|| bad("terms must be in double quotes"))?;
        let (term, r) = r.split_once('"').ok_or_else(|| bad("unterminated term"))?;
        rest = r.trim_start();
        let (prop, value) = term
            .split_once(':')
            .ok_or_else(|| bad("terms must name a property (\"displayName:value\")"))?;
        let prop = prop.trim();
        if !allowed.iter().any(|a| a.eq_ignore_ascii_case(prop)) {
            return Err(GraphError::unsupported_query(format!(
                "Unsupported property '{prop}' in $search."
            )));
        }
        let words = words(value);
        if words.is_empty() {
            return Err(bad("empty search term"));
        }
        terms.push((prop.to_string(), words));
    }
    if terms.is_empty() {
        return Err(bad("empty $search"));
    }
    Ok(Search { terms, any })
}

fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
        .collect()
}

/// Does `value` of property match `needle` words (each a prefix of some token)?
pub fn search_match(value: &str, needle: &[String]) -> bool {
    let toks = words(value);
    needle
        .iter()
        .all(|n| toks.iter().any(|t| t.starts_with(n.as_str())))
}

impl Search {
    /// Evaluates the search with a property getter.
    pub fn matches<'a>(&self, get: impl Fn(&str) -> Option<&'a str>) -> bool {
        let mut it = self.terms.iter().map(|(p, w)| {
            get(p).is_some_and(|v| search_match(v, w) || v.to_lowercase().starts_with(&w.join(" ")))
        });
        if self.any {
            it.any(|b| b)
        } else {
            it.all(|b| b)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const P: &[&str] = &["displayName", "appId", "tags", "id"];

    #[test]
    fn filters_parse_and_evaluate() {
        let v = json!({"displayName": "Contoso Mail", "appId": "abc", "tags": ["x", "managed"]});
        for (f, want) in [
            ("displayName eq 'contoso mail'", true),
            ("appId eq 'abc' and displayName ne 'x'", true),
            ("startswith(displayName,'Cont')", true),
            ("tags/any(t:t eq 'managed')", true),
            ("appId in ('q','abc')", true),
            ("not (appId eq 'abc') or id eq null", true),
            ("displayName eq 'O''Brien'", false),
        ] {
            let e = parse_filter(f, P, "Application").unwrap();
            assert_eq!(eval(&e, &v), want, "{f}");
        }
        assert_eq!(
            parse_filter("notes eq 'x'", P, "Application")
                .unwrap_err()
                .code,
            "Request_UnsupportedQuery"
        );
        assert_eq!(
            parse_filter("displayName eq", P, "Application")
                .unwrap_err()
                .code,
            "BadRequest"
        );
        assert!(parse_filter("displayName eq 'x", P, "Application").is_err());
    }

    #[test]
    fn search_and_paging() {
        let s = parse_search(
            "\"displayName:rob\" OR \"mail:rob\"",
            &["displayName", "mail"],
        )
        .unwrap();
        assert!(s.matches(|p| if p == "displayName" {
            Some("Robin User")
        } else {
            None
        }));
        assert!(parse_search("rob", &["displayName"]).is_err());
        let od = OData::parse("$top=2&$select=id").unwrap();
        let items: Vec<Value> = (0..5).map(|i| json!({"id": i, "x": 1})).collect();
        let p = page(
            &od,
            items,
            5,
            "c".into(),
            "http://h/v1.0/users",
            "user",
            100,
        )
        .unwrap();
        assert_eq!(p["value"].as_array().unwrap().len(), 2);
        assert_eq!(p["value"][0], json!({"id": 0}));
        let next = p["@odata.nextLink"].as_str().unwrap();
        let q = next.split_once('?').unwrap().1;
        assert_eq!(OData::parse(q).unwrap().skip, 2);
        assert!(OData::parse("$top=1000").is_err());
    }
}
