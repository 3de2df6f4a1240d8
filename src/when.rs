//! `--when-expressions`: a step's `when` guards, as Tekton's controller
//! writes them (the JSON of `[]WhenExpression`). All must allow the step for
//! its command to run; a step they do not allow is skipped, a success
//! (`POST`, exit 0, reason `Skipped`). The facts are tektoncd/pipeline's
//! `pkg/apis/pipeline/v1/when_types.go` and `allowExec` in
//! `pkg/entrypoint/entrypointer.go`:
//!
//! - an entry is `input`, `operator` (`in` or `notin`) and `values`: `in`
//!   holds when `input` is one of `values`, `notin` when it is none of them;
//! - or `cel`, a CEL expression that must evaluate to a boolean. Every CEL
//!   entry is evaluated first, in order, until one is false; then the
//!   operators. CEL needs the cargo feature `cel` (docs/decisions.md): in a
//!   build without it, a `cel` entry fails the step.
//!
//! Field names are read as Go's `encoding/json` reads them (case aside),
//! unknown members are ignored and `null` is the empty value. Malformed JSON
//! and a CEL error fail the step (exit 1, as Tekton's entrypoint), naming
//! the expression.

use std::path::Path;

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::exit_code::{self, Failure};
use crate::settings::Step;
use crate::substitute::{self, Env};
use crate::tekton;

/// One `when` expression.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expression {
    pub input: String,
    pub operator: String,
    pub values: Vec<String>,
    pub cel: String,
}

/// Whether the expressions of `json` allow the step to run.
pub fn allows(json: &str) -> Result<bool> {
    evaluate(&parse(json)?)
}

/// The expressions of `json`; an error names the text.
pub fn parse(json: &str) -> Result<Vec<Expression>> {
    let value = serde_json::from_str(json)
        .with_context(|| format!("--when-expressions {json}: not valid JSON"))?;
    expressions(value).with_context(|| format!("--when-expressions {json}"))
}

/// Each member as Go's `encoding/json` matches it (case aside). Read
/// through `serde_json::Value`, which result values are read with too: one
/// instance of the parser in the binary rather than one per type.
fn expressions(value: Value) -> Result<Vec<Expression>> {
    let entries = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Array(entries) => entries,
        _ => bail!("not a list of when expressions"),
    };
    let mut out = Vec::with_capacity(entries.len());
    for entry in entries {
        let members = match entry {
            Value::Null => serde_json::Map::new(),
            Value::Object(members) => members,
            _ => bail!("a when expression is not an object"),
        };
        let mut expression = Expression::default();
        for (name, value) in members {
            let field = |wanted: &str| name.eq_ignore_ascii_case(wanted);
            if field("input") {
                expression.input = string(value, "input")?;
            } else if field("operator") {
                expression.operator = string(value, "operator")?;
            } else if field("cel") {
                expression.cel = string(value, "cel")?;
            } else if field("values") {
                expression.values = match value {
                    Value::Null => Vec::new(),
                    Value::Array(values) => values
                        .into_iter()
                        .map(|v| string(v, "values"))
                        .collect::<Result<_>>()?,
                    _ => bail!("values is not a list of strings"),
                };
            }
        }
        out.push(expression);
    }
    Ok(out)
}

/// A string member; `null` is the empty string.
fn string(value: Value, field: &str) -> Result<String> {
    match value {
        Value::Null => Ok(String::new()),
        Value::String(s) => Ok(s),
        _ => bail!("{field} is not a string"),
    }
}

/// Whether all of `when` allow the step: the CEL entries first, then the
/// operators, as Tekton's entrypoint goes.
pub fn evaluate(when: &[Expression]) -> Result<bool> {
    for expression in when.iter().filter(|e| !e.cel.is_empty()) {
        let allowed = cel(&expression.cel)
            .with_context(|| format!("when expression {:?}", expression.cel))?;
        if !allowed {
            return Ok(false);
        }
    }
    for expression in when {
        if !expression.holds()? {
            return Ok(false);
        }
    }
    Ok(true)
}

impl Expression {
    /// Whether the operator holds (a CEL entry without one: Tekton's
    /// default, `input` not in `values`, which holds for an entry that has
    /// neither).
    fn holds(&self) -> Result<bool> {
        let found = self.values.contains(&self.input);
        match self.operator.as_str() {
            "in" => Ok(found),
            "notin" => Ok(!found),
            "" if !self.cel.is_empty() => Ok(!found),
            operator => bail!(
                "when expression {{input: {:?}, operator: {operator:?}, values: {:?}}}: the operator must be in or notin",
                self.input,
                self.values
            ),
        }
    }
}

/// A CEL expression's boolean value, in an environment without variables
/// (as Tekton's `cel.NewEnv()`).
#[cfg(feature = "cel")]
fn cel(source: &str) -> Result<bool> {
    let one_line = |text: String| text.split_whitespace().collect::<Vec<_>>().join(" ");
    let program = ::cel::Program::compile(source)
        .map_err(|err| ::anyhow::anyhow!(one_line(err.to_string())))?;
    match program.execute(&::cel::Context::default()) {
        Ok(::cel::Value::Bool(value)) => Ok(value),
        Ok(other) => bail!("evaluates to {other:?}, not to a boolean"),
        Err(err) => bail!(one_line(err.to_string())),
    }
}

#[cfg(not(feature = "cel"))]
fn cel(_: &str) -> Result<bool> {
    bail!("this build of baton has no CEL (it was built without the cargo feature `cel`)")
}

/// The expressions with step results substituted in their input, values
/// and CEL (Tekton's `replaceWhen`); a whole array result becomes as many
/// values.
pub fn substituted(when: &[Expression], steps: &Path) -> Result<Vec<Expression>> {
    when.iter()
        .map(|expression| {
            Ok(Expression {
                input: substitute::in_string(&expression.input, steps)?,
                operator: expression.operator.clone(),
                values: substitute::in_list(&expression.values, steps)?,
                cel: substitute::in_string(&expression.cel, steps)?,
            })
        })
        .collect()
}

/// Tekton's last word before the command starts: in Tekton mode, step
/// results substituted into the environment, the when expressions and the
/// command (`substitute`; an error there is logged, and the part it was in
/// left as it was); then the when expressions evaluated. An error fails the
/// step.
pub fn before_start(step: &Step, env: Env) -> Result<Start, Failure> {
    if step.tekton.when_expressions.is_none() && !step.tekton_mode() {
        return Ok(Start::Run { step: None, env });
    }
    resolve(step, env)
}

/// `before_start` for a step with when expressions or in Tekton mode.
fn resolve(step: &Step, env: Env) -> Result<Start, Failure> {
    let failed = |err: anyhow::Error| Failure {
        code: exit_code::WHEN,
        message: format!("{err:#}"),
    };
    let when = match &step.tekton.when_expressions {
        Some(json) => Some(parse(json).map_err(failed)?),
        None => None,
    };
    let (step, env, when) = if step.tekton_mode() {
        let steps = tekton::root().join("steps");
        let env = substitute::or_log("the environment", substitute::in_env(&env, &steps), env);
        let when = when.map(|when| {
            let substituted = substituted(&when, &steps);
            substitute::or_log("the when expressions", substituted, when)
        });
        (substitute::in_step(step, &steps), env, when)
    } else {
        (None, env, when)
    };
    if let Some(when) = when {
        if !evaluate(&when).map_err(failed)? {
            tracing::info!("skipped: the when expressions do not allow the step");
            return Ok(Start::Skip);
        }
    }
    Ok(Start::Run { step, env })
}

/// What `before_start` decided.
#[derive(Debug)]
pub enum Start {
    /// Run the command: the step's own, or `step` where step results
    /// changed it, with `env` added to the environment.
    Run { step: Option<Box<Step>>, env: Env },
    /// The when expressions do not allow the step.
    Skip,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(input: &str, operator: &str, values: &[&str]) -> Expression {
        Expression {
            input: input.into(),
            operator: operator.into(),
            values: values.iter().map(ToString::to_string).collect(),
            cel: String::new(),
        }
    }

    #[test]
    fn in_and_notin() {
        assert!(evaluate(&[entry("a", "in", &["b", "a"])]).unwrap());
        assert!(!evaluate(&[entry("a", "in", &["b"])]).unwrap());
        assert!(!evaluate(&[entry("a", "in", &[])]).unwrap());
        assert!(evaluate(&[entry("a", "notin", &["b"])]).unwrap());
        assert!(!evaluate(&[entry("a", "notin", &["a"])]).unwrap());
        assert!(evaluate(&[]).unwrap(), "no expression allows");
        assert!(
            !evaluate(&[entry("a", "in", &["a"]), entry("x", "notin", &["x"])]).unwrap(),
            "all must allow"
        );
    }

    #[test]
    fn step_results_in_input_values_and_cel() {
        let root = substitute::tests::fake_root();
        let when = [Expression {
            input: "$(steps.first.results.s)".into(),
            operator: "in".into(),
            values: vec![
                "$(steps.first.results.a[*])".into(),
                "-$(steps.first.results.o.k)".into(),
            ],
            cel: "'$(steps.first.results.s)' == 'hello'".into(),
        }];
        let out = substituted(&when, root.path()).unwrap();
        assert_eq!(out[0].input, "hello");
        assert_eq!(out[0].values, ["x", "y z", "-v"]);
        assert_eq!(out[0].cel, "'hello' == 'hello'");
        assert_eq!(out[0].operator, "in");
    }

    #[test]
    fn an_unknown_operator_is_an_error_naming_the_expression() {
        let err = evaluate(&[entry("a", "exists", &["a"])]).unwrap_err();
        assert!(
            format!("{err:#}").contains(r#"operator: "exists""#),
            "{err:#}"
        );
        assert!(evaluate(&[entry("a", "", &["a"])]).is_err());
    }

    #[test]
    fn parses_as_the_controller_writes_it() {
        let when = parse(
            r#"[{"input":"$(params.x)","operator":"in","values":["a","b"]},
                {"cel":"1 == 1"},{"Input":"i","OPERATOR":"notin","values":null,"other":3}]"#,
        )
        .unwrap();
        assert_eq!(when[0], entry("$(params.x)", "in", &["a", "b"]));
        assert_eq!(when[1].cel, "1 == 1");
        assert_eq!(when[2], entry("i", "notin", &[]));
        assert!(parse("null").unwrap().is_empty());
        assert!(allows(r#"[{"input":"a","operator":"in","values":["a"]}]"#).unwrap());
        assert!(!allows(r#"[{"input":"a","operator":"notin","values":["a"]}]"#).unwrap());
    }

    #[test]
    fn malformed_json_is_one_line_naming_it() {
        for json in [
            "[{",
            r#"{"input":"a"}"#,
            r#"[{"input":1}]"#,
            r#"[{"values":"a"}]"#,
            "[3]",
        ] {
            let err = format!("{:#}", parse(json).unwrap_err());
            assert!(err.contains(json), "{err}");
            assert_eq!(err.lines().count(), 1, "{err}");
        }
    }

    #[cfg(not(feature = "cel"))]
    #[test]
    fn without_the_feature_a_cel_entry_fails() {
        let err = format!("{:#}", allows(r#"[{"cel":"true"}]"#).unwrap_err());
        assert!(err.contains("no CEL"), "{err}");
        assert!(err.contains(r#""true""#), "{err}");
    }

    #[cfg(feature = "cel")]
    mod cel {
        use super::super::*;

        #[test]
        fn cel_entries() {
            assert!(allows(r#"[{"cel":"'yes' == 'yes'"}]"#).unwrap());
            assert!(!allows(r#"[{"cel":"'no' == 'yes'"}]"#).unwrap());
            assert!(allows(r#"[{"cel":"'abc'.startsWith('a') && size([1, 2]) == 2"}]"#).unwrap());
            assert!(allows(r#"[{"cel":"'a' in ['a', 'b']"}]"#).unwrap());
            assert!(
                !allows(r#"[{"cel":"1 > 2"},{"input":"a","operator":"in","values":["a"]}]"#)
                    .unwrap()
            );
            assert!(
                !allows(r#"[{"cel":"true"},{"input":"a","operator":"notin","values":["a"]}]"#)
                    .unwrap()
            );
        }

        #[test]
        fn cel_errors_name_the_expression() {
            for source in ["1 +", "'a'", "nope == 1"] {
                let json = format!(r#"[{{"cel":"{source}"}}]"#);
                let err = format!("{:#}", allows(&json).unwrap_err());
                assert!(err.contains(&format!("{source:?}")), "{err}");
                assert_eq!(err.lines().count(), 1, "{err}");
            }
        }

        #[test]
        fn the_cel_entries_go_first() {
            // An operator that does not allow the step does not spare a CEL error.
            let json = r#"[{"input":"a","operator":"in","values":[]},{"cel":"1 +"}]"#;
            assert!(allows(json).is_err());
            // A false CEL entry ends it before a later CEL error.
            assert!(!allows(r#"[{"cel":"false"},{"cel":"1 +"}]"#).unwrap());
        }
    }
}
