//! JavaScript values -> core JSON values. Plain objects, arrays, strings, finite numbers,
//! booleans and null go in; anything else (undefined, BigInt, functions, symbols, Date, Map,
//! Set, class instances, typed arrays, NaN, lone surrogates) is refused with its JSON path.

use js_sys::{Array, JsString, Object, Reflect};
use tokenpixel_core::host::{render, Step};
use tokenpixel_core::{host, Error, IJsonReason, Map, Value, MAX_DEPTH};
use wasm_bindgen::{JsCast, JsValue};

/// Converts a JS value; errors name it as `$`.
pub fn to_value(v: &JsValue) -> Result<Value, Error> {
    convert(v, &mut Vec::new())
}

fn js_string(s: &JsValue, path: &[Step]) -> Result<String, Error> {
    let js: &JsString = s.unchecked_ref();
    if !js.is_valid_utf16() {
        return Err(Error::NotIJson {
            reason: IJsonReason::LoneSurrogate,
            detail: format!("string at {} holds a lone surrogate", render(path)),
            at: None,
        });
    }
    Ok(String::from(js))
}

fn type_name(v: &JsValue) -> String {
    if v.is_undefined() {
        return "undefined".into();
    }
    if v.is_bigint() {
        return "bigint".into();
    }
    if v.is_function() {
        return "function".into();
    }
    if v.is_symbol() {
        return "symbol".into();
    }
    if v.is_object() {
        let ctor = Reflect::get(v, &"constructor".into())
            .ok()
            .and_then(|c| Reflect::get(&c, &"name".into()).ok())
            .and_then(|n| n.as_string());
        return ctor.unwrap_or_else(|| "object".into());
    }
    v.js_typeof().as_string().unwrap_or_else(|| "value".into())
}

/// A plain object: its prototype is `Object.prototype` or null.
fn is_plain_object(v: &JsValue) -> bool {
    let proto = Object::get_prototype_of(v);
    proto.is_null() || Object::get_prototype_of(&proto).is_null()
}

fn convert(v: &JsValue, path: &mut Vec<Step>) -> Result<Value, Error> {
    if v.is_string() {
        return js_string(v, path).map(Value::String);
    }
    if let Some(n) = v.as_f64() {
        return host::float(n, || render(path));
    }
    if let Some(b) = v.as_bool() {
        return Ok(Value::Bool(b));
    }
    if v.is_null() {
        return Ok(Value::Null);
    }
    if !v.is_object() || v.is_function() {
        return Err(host::unsupported(&type_name(v), &render(path)));
    }
    if path.len() >= MAX_DEPTH {
        return Err(host::too_deep(&render(path)));
    }
    if Array::is_array(v) {
        let arr: &Array = v.unchecked_ref();
        let mut items = Vec::with_capacity(arr.length() as usize);
        for (i, x) in arr.iter().enumerate() {
            path.push(Step::Index(i));
            items.push(convert(&x, path)?);
            path.pop();
        }
        return Ok(Value::Array(items));
    }
    if !is_plain_object(v) {
        return Err(host::unsupported(&type_name(v), &render(path)));
    }
    let obj: &Object = v.unchecked_ref();
    let entries = Object::entries(obj);
    let mut members = Vec::with_capacity(entries.length() as usize);
    for entry in entries.iter() {
        let pair: Array = entry.unchecked_into();
        let key = js_string(&pair.get(0), path)?;
        path.push(Step::Key(key));
        let value = convert(&pair.get(1), path)?;
        let Some(Step::Key(key)) = path.pop() else {
            unreachable!("path stack is balanced")
        };
        members.push((key, value));
    }
    Map::from_entries(members)
        .map(Value::Object)
        .map_err(|k| host::unsupported(&format!("duplicate key {k:?}"), &render(path)))
}
