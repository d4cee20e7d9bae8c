//! Core errors as JavaScript `Error` objects carrying `.code` (and `.reason`); the package's
//! JS layer rethrows them as `TokenPixelError`.

use js_sys::Reflect;
use tokenpixel_core::Error;
use wasm_bindgen::JsValue;

pub fn to_js(e: &Error) -> JsValue {
    let err = js_sys::Error::new(&e.to_string());
    err.set_name("TokenPixelError");
    let obj: &JsValue = err.as_ref();
    // Setting a property on a fresh Error object cannot fail.
    let _ = Reflect::set(obj, &"code".into(), &e.code().into());
    let _ = Reflect::set(
        obj,
        &"reason".into(),
        &e.reason().map_or(JsValue::NULL, JsValue::from),
    );
    let _ = Reflect::set(obj, &"family".into(), &e.family().name().into());
    err.into()
}

pub fn js_err(e: Error) -> JsValue {
    to_js(&e)
}

pub fn argument(detail: impl Into<String>) -> JsValue {
    to_js(&Error::InvalidArgument {
        detail: detail.into(),
    })
}
