// smsverify.js: a dependency-free ES module client for the smsverify HTTP API
// (POST /send, POST /check, GET /client-config; GET /attempts for servers).
// No build step, no packages:
//
//   import { send, check } from "./smsverify.js";
//   const sent = await send("13800000000", { baseUrl: "https://api.example.com" });
//   // sent.ResendAfter: seconds until the next send; use startCountdown.
//   const res = await check("13800000000", "1234", { baseUrl: "https://api.example.com" });
//   if (res.Model.VerifyResult === "PASS") { /* res.Model.VerifyToken */ }
//   // else res.Model.AttemptsLeft: checks left for this number ("2 attempts left").
//
// Every failure is thrown as a SmsVerifyError with .code (the API's Code, or
// NETWORK_ERROR when the browser got no answer, e.g. CORS refused), .status,
// .retryAfter (seconds, for 429 and 409) and .userMessage(lang).
// Every answer resolved gets one field the API's JSON does not have:
// .replayed, true when the Idempotent-Replayed: true header says the service
// answered a retry (same Idempotency-Key) from its record.
// The API is described by GET /openapi.json; smsverify.d.ts types it all.

// MESSAGES maps every error Code the API can answer (and this client's own
// NETWORK_ERROR and BAD_ANSWER) to a short message for users, in Chinese and
// English. A Go test keeps it complete.
// BEGIN MESSAGES
export const MESSAGES = {
  INVALID_PARAMETERS: { zh: "请求参数有误。", en: "Something in the request is not valid." },
  MOBILE_NUMBER_ILLEGAL: { zh: "请输入正确的 11 位手机号。", en: "Enter a valid 11-digit mobile number." },
  INVALID_JSON: { zh: "请求格式有误。", en: "The request could not be read." },
  FIELD_NOT_ALLOWED: { zh: "请求包含不允许的字段。", en: "The request sets a field it may not set." },
  UNKNOWN_ACTION: { zh: "未知操作。", en: "Unknown action." },
  CAPTCHA_REQUIRED: { zh: "请先完成人机验证。", en: "Please complete the captcha first." },
  CAPTCHA_FAILED: { zh: "人机验证未通过，请重试。", en: "The captcha was not accepted. Please try again." },
  CAPTCHA_UNAVAILABLE: { zh: "人机验证服务暂不可用，请稍后再试。", en: "The captcha service is unavailable. Try again later." },
  UNAUTHORIZED: { zh: "API 密钥无效。", en: "The API key is not valid." },
  NOT_FOUND: { zh: "地址不存在。", en: "No such address." },
  METHOD_NOT_ALLOWED: { zh: "不支持该请求方式。", en: "This method is not allowed." },
  BODY_TOO_LARGE: { zh: "请求内容过大。", en: "The request is too large." },
  UNSUPPORTED_MEDIA_TYPE: { zh: "请求格式必须是 JSON。", en: "The request must be JSON." },
  IDEMPOTENCY_IN_PROGRESS: { zh: "上一次请求仍在处理中，请稍候。", en: "The same request is still being processed. Please wait." },
  IDEMPOTENCY_KEY_REUSED: { zh: "请求标识已被其他请求使用。", en: "This request key was already used for another request." },
  SEND_LIMIT_PHONE: { zh: "该号码获取验证码过于频繁，请稍后再试。", en: "Too many codes for this number. Try again later." },
  SEND_LIMIT_IP: { zh: "当前网络获取验证码过于频繁，请稍后再试。", en: "Too many codes from your network. Try again later." },
  SEND_LIMIT_GLOBAL: { zh: "服务今日发送量已达上限，请稍后再试。", en: "The service has reached its sending limit. Try again later." },
  CHECK_LIMIT_PHONE: { zh: "该号码验证次数过多，请稍后再试。", en: "Too many attempts for this number. Wait, then try again." },
  CHECK_LIMIT_IP: { zh: "当前网络验证次数过多，请稍后再试。", en: "Too many attempts from your network. Wait, then try again." },
  LIMIT_STORE_UNAVAILABLE: { zh: "服务暂不可用，请稍后再试。", en: "The service is unavailable. Try again later." },
  UPSTREAM_TIMEOUT: { zh: "短信服务响应超时，请稍后再试。", en: "The SMS service did not answer in time. Try again later." },
  UPSTREAM_UNREACHABLE: { zh: "无法连接短信服务，请稍后再试。", en: "The SMS service cannot be reached. Try again later." },
  UPSTREAM_BAD_RESPONSE: { zh: "短信服务返回异常，请稍后再试。", en: "The SMS service answered unexpectedly. Try again later." },
  MISSING_CREDENTIALS: { zh: "服务配置有误，请联系管理员。", en: "The service is misconfigured. Contact the administrator." },
  INTERNAL_ERROR: { zh: "服务内部错误，请稍后再试。", en: "Internal error. Try again later." },
  // Alibaba's codes.
  "isv.MOBILE_NUMBER_ILLEGAL": { zh: "请输入正确的 11 位手机号。", en: "Enter a valid 11-digit mobile number." },
  "isv.INVALID_PARAMETERS": { zh: "请求参数有误。", en: "Something in the request is not valid." },
  "isv.PARAM_LENGTH_LIMIT": { zh: "参数超出长度限制。", en: "A value is too long." },
  "isv.MOBILE_COUNT_OVER_LIMIT": { zh: "手机号数量超出限制。", en: "Too many numbers." },
  SECURITY_INTERCEPTED: { zh: "该号码被风控拦截，请更换号码或稍后再试。", en: "This number was blocked by risk control. Try another number or later." },
  DataNotFound: { zh: "未找到相关记录。", en: "No matching record." },
  FREQUENCY_FAIL: { zh: "获取验证码过于频繁，请稍后再试。", en: "Codes requested too often. Try again later." },
  "biz.FREQUENCY": { zh: "获取验证码过于频繁，请稍后再试。", en: "Codes requested too often. Try again later." },
  BUSINESS_LIMIT_CONTROL: { zh: "该号码今日获取验证码次数已达上限。", en: "This number has reached today's limit." },
  "isv.BUSINESS_LIMIT_CONTROL": { zh: "该号码今日获取验证码次数已达上限。", en: "This number has reached today's limit." },
  SENTINEL_BLOCK_EXCEPTION: { zh: "请求过于频繁，请稍后再试。", en: "Too many requests. Try again later." },
  Throttling: { zh: "请求过于频繁，请稍后再试。", en: "Too many requests. Try again later." },
  FUNCTION_NOT_OPENED: { zh: "短信服务未开通，请联系管理员。", en: "The SMS service is not enabled. Contact the administrator." },
  SignatureDoesNotMatch: { zh: "服务配置有误，请联系管理员。", en: "The service is misconfigured. Contact the administrator." },
  IncompleteSignature: { zh: "服务配置有误，请联系管理员。", en: "The service is misconfigured. Contact the administrator." },
  SignatureNonceUsed: { zh: "请求重复，请重试。", en: "Duplicate request. Please try again." },
  "InvalidTimeStamp.Expired": { zh: "服务时钟有误，请联系管理员。", en: "The service clock is wrong. Contact the administrator." },
  "isv.SMS_SIGNATURE_ILLEGAL": { zh: "短信签名不可用，请联系管理员。", en: "The SMS signature is not usable. Contact the administrator." },
  "isv.SMS_TEMPLATE_ILLEGAL": { zh: "短信模板不可用，请联系管理员。", en: "The SMS template is not usable. Contact the administrator." },
  "isv.ACCOUNT_ABNORMAL": { zh: "短信账户异常，请联系管理员。", en: "The SMS account has a problem. Contact the administrator." },
  "isv.ACCOUNT_NOT_EXISTS": { zh: "短信账户不存在，请联系管理员。", en: "The SMS account does not exist. Contact the administrator." },
  InvalidAccessKeyId: { zh: "服务配置有误，请联系管理员。", en: "The service is misconfigured. Contact the administrator." },
  InvalidSecurityToken: { zh: "服务配置有误，请联系管理员。", en: "The service is misconfigured. Contact the administrator." },
  Forbidden: { zh: "服务无权限，请联系管理员。", en: "The service lacks a permission. Contact the administrator." },
  NoPermission: { zh: "服务无权限，请联系管理员。", en: "The service lacks a permission. Contact the administrator." },
  MissingParameter: { zh: "缺少参数。", en: "A parameter is missing." },
  InvalidParameter: { zh: "请求参数有误。", en: "Something in the request is not valid." },
  ServiceUnavailable: { zh: "短信服务暂不可用，请稍后再试。", en: "The SMS service is unavailable. Try again later." },
  RESOURCE_NOT_ENOUGH: { zh: "短信服务暂不可用，请稍后再试。", en: "The SMS service is unavailable. Try again later." },
  "isv.AMOUNT_NOT_ENOUGH": { zh: "短信余额不足，请联系管理员。", en: "The SMS account is out of credit. Contact the administrator." },
  "isv.OUT_OF_SERVICE": { zh: "短信服务已停用，请联系管理员。", en: "The SMS service is suspended. Contact the administrator." },
  // This client's own codes.
  NETWORK_ERROR: { zh: "无法连接服务（网络错误或跨域 CORS 被拒绝）。", en: "Could not reach the service (network error, or CORS refused)." },
  BAD_ANSWER: { zh: "服务返回了无法识别的内容。", en: "The service answered something unexpected." },
};
// END MESSAGES

// Codes matched by prefix (Alibaba's gateway families, e.g. Throttling.User).
const PREFIXES = ["Throttling", "InvalidAccessKeyId", "InvalidSecurityToken", "Forbidden", "NoPermission", "MissingParameter", "InvalidParameter", "ServiceUnavailable"];

/** lang returns "zh" or "en" for a BCP 47 tag (default: the browser's). */
export function lang(tag) {
  const t = tag || (globalThis.navigator && navigator.language) || "zh";
  return /^zh/i.test(t) ? "zh" : "en";
}

/** message returns the user message for an error code. */
export function message(code, language) {
  const l = lang(language);
  let m = MESSAGES[code];
  if (!m) {
    const p = PREFIXES.find((p) => typeof code === "string" && code.startsWith(p));
    m = p ? MESSAGES[p] : null;
  }
  if (!m) return l === "zh" ? "请求失败，请稍后再试。" : "The request failed. Try again later.";
  return m[l];
}

/** SmsVerifyError is every failure of send, check and getClientConfig. */
export class SmsVerifyError extends Error {
  constructor({ code, status = 0, message: msg = "", retryAfter = 0, requestId = "", cause } = {}) {
    super(`${code}${msg ? ": " + msg : ""}`, cause ? { cause } : undefined);
    this.name = "SmsVerifyError";
    this.code = code;
    this.status = status;
    this.serverMessage = msg;
    this.retryAfter = retryAfter; // seconds; 0 when not given
    this.requestId = requestId;
  }
  /** userMessage is a short message for users, in Chinese or English. */
  userMessage(language) {
    return message(this.code, language);
  }
}

function joinUrl(base, path) {
  return (base || "").replace(/\/+$/, "") + path;
}

async function call(method, path, body, opts = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (opts.apiKey) headers.Authorization = "Bearer " + opts.apiKey;
  if (opts.idempotencyKey) headers["Idempotency-Key"] = opts.idempotencyKey;
  const f = opts.fetch || globalThis.fetch;
  let res;
  try {
    res = await f(joinUrl(opts.baseUrl, path), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      mode: "cors",
      credentials: "omit",
      signal: opts.signal,
    });
  } catch (err) {
    if (err && err.name === "AbortError") throw err;
    // The browser gives no detail: no route, offline, or CORS refused.
    throw new SmsVerifyError({ code: "NETWORK_ERROR", cause: err });
  }
  let data = null;
  try {
    data = await res.json();
  } catch (err) {
    data = null;
  }
  const headerRetry = parseInt(res.headers.get("Retry-After") || "", 10);
  if (!res.ok || !data || data.Success === false) {
    const retryAfter = headerRetry > 0 ? headerRetry : (data && data.RetryAfter) || 0;
    throw new SmsVerifyError({
      code: (data && data.Code) || "BAD_ANSWER",
      status: res.status,
      message: (data && data.Message) || "",
      retryAfter,
      requestId: (data && data.RequestId) || res.headers.get("X-Request-Id") || "",
    });
  }
  // The Idempotent-Replayed header, for callers that cannot read headers.
  data.replayed = res.headers.get("Idempotent-Replayed") === "true";
  return data;
}

/**
 * send asks the service to text a code to phone (POST /send).
 * opts: baseUrl, captcha (CaptchaVerifyParam), templateCode, schemeName,
 * outId, countryCode, idempotencyKey (a fresh crypto.randomUUID() per user
 * action, reused only for that action's retries, never derived from the
 * number: at least 16 characters), apiKey (trusted callers only: never
 * put an API key in a web page), signal, fetch.
 * Resolves to the answer; its ResendAfter is the seconds until the next send.
 */
export function send(phone, opts = {}) {
  const body = { PhoneNumber: String(phone || "").trim() };
  if (opts.countryCode) body.CountryCode = opts.countryCode;
  if (opts.templateCode) body.TemplateCode = opts.templateCode;
  if (opts.schemeName) body.SchemeName = opts.schemeName;
  if (opts.outId) body.OutId = opts.outId;
  if (opts.captcha) body.CaptchaVerifyParam = opts.captcha;
  return call("POST", "/send", body, opts);
}

/**
 * check asks whether code is the one sent to phone (POST /check).
 * Resolves to the answer: Model.VerifyResult is "PASS" or "UNKNOWN", and a
 * PASS may carry Model.VerifyToken. Model.AttemptsLeft is the number of
 * checks left for this number in the current window: show it after a wrong
 * code ("2 attempts left"); at 0 the next check is refused (429) until
 * Retry-After. opts as for send, plus caseSensitive.
 */
export function check(phone, code, opts = {}) {
  const body = { PhoneNumber: String(phone || "").trim(), VerifyCode: String(code || "").trim() };
  if (opts.countryCode) body.CountryCode = opts.countryCode;
  if (opts.schemeName) body.SchemeName = opts.schemeName;
  if (opts.outId) body.OutId = opts.outId;
  if (opts.caseSensitive) body.CaseAuthPolicy = 2;
  if (opts.captcha) body.CaptchaVerifyParam = opts.captcha;
  return call("POST", "/check", body, opts);
}

/**
 * listAttempts lists what became of the recent SMS to phone (GET /attempts):
 * { PhoneNumber, Attempts: [{ BizId, SentAt, TemplateCode, SchemeName, OutId,
 * TestNumber, Delivery: "PENDING"|"DELIVERED"|"FAILED", DeliveryCode,
 * DeliveredAt, Checks, PassedAt }] }, newest first. For servers only (a
 * support tool, a Node.js backend): it needs opts.apiKey, a key from
 * API_KEYS, which must never be put in a web page. opts: apiKey, baseUrl,
 * countryCode, bizId, signal, fetch.
 */
export function listAttempts(phone, opts = {}) {
  const q = new URLSearchParams({ PhoneNumber: String(phone || "").trim() });
  if (opts.countryCode) q.set("CountryCode", opts.countryCode);
  if (opts.bizId) q.set("BizId", opts.bizId);
  return call("GET", "/attempts?" + q.toString(), undefined, opts);
}

/** getClientConfig fetches the public settings (GET /client-config). */
export function getClientConfig(opts = {}) {
  return call("GET", "/client-config", undefined, opts);
}

/**
 * startCountdown calls onTick(secondsLeft) now and every second until
 * seconds have passed, then onDone(). It returns a function that stops it.
 * Use it with an answer's ResendAfter, or an error's retryAfter.
 */
export function startCountdown(seconds, onTick, onDone) {
  const end = Date.now() + Math.max(0, seconds) * 1000;
  let timer = null;
  const tick = () => {
    const left = Math.ceil((end - Date.now()) / 1000);
    if (left <= 0) {
      clearInterval(timer);
      timer = null;
      if (onDone) onDone();
      return;
    }
    if (onTick) onTick(left);
  };
  tick();
  if (Date.now() < end) timer = setInterval(tick, 250);
  return () => {
    if (timer !== null) clearInterval(timer);
    timer = null;
  };
}

/** decodeTokenClaims returns the claims of a verification token (a JWT) without checking it: display only; servers verify. */
export function decodeTokenClaims(token) {
  const part = String(token || "").split(".")[1];
  if (!part) return null;
  const b64 = part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "=");
  const bin = atob(b64);
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement("script");
    s.src = src;
    s.async = true;
    s.onload = resolve;
    s.onerror = () => reject(new Error("could not load " + src));
    document.head.appendChild(s);
  });
}

/**
 * mountCaptcha puts the configured captcha into element (captcha is
 * GET /client-config's Captcha) and resolves to { required(action), token(),
 * reset() }. token() is the value for opts.captcha ("" until solved).
 * Tokens are single-use: call reset() after each request that carried one.
 * Providers: "" (none), "test" (a checkbox; emulator only), "turnstile"
 * and "hcaptcha" (their widgets, with SiteKey), "aliyun" (Captcha 2.0 with
 * SceneId, and the identity Prefix and Region, "cn" or "sgp", that
 * CAPTCHA_PREFIX and CAPTCHA_ENDPOINT publish; opts.prefix and opts.region
 * override them). onChange(token) is called when the token changes.
 */
export async function mountCaptcha(element, captcha, opts = {}) {
  const cfg = captcha || { Provider: "", Actions: [] };
  const l = lang(opts.lang);
  let value = "";
  const set = (v) => {
    value = v || "";
    if (opts.onChange) opts.onChange(value);
  };
  const handle = {
    provider: cfg.Provider,
    required: (action) => !!cfg.Provider && (cfg.Actions || []).includes(action),
    token: () => value,
    reset: () => set(""),
  };
  switch (cfg.Provider) {
    case "":
    case undefined:
      return handle;
    case "test": {
      const id = (element.id || "captcha") + "-test";
      const label = document.createElement("label");
      label.className = "captcha-test";
      const box = document.createElement("input");
      box.type = "checkbox";
      box.id = id;
      box.name = "captcha";
      label.append(box, " ", l === "zh" ? "我不是机器人（测试验证码）" : "I am not a robot (test captcha)");
      element.replaceChildren(label);
      box.addEventListener("change", () => {
        const rnd = Math.random().toString(36).slice(2, 10);
        set(box.checked ? (cfg.PassPrefix || "pass") + "-" + rnd : "");
      });
      handle.reset = () => {
        box.checked = false;
        set("");
      };
      return handle;
    }
    case "turnstile":
    case "hcaptcha": {
      const ts = cfg.Provider === "turnstile";
      await loadScript(ts ? "https://challenges.cloudflare.com/turnstile/v0/api.js?render=explicit" : "https://js.hcaptcha.com/1/api.js?render=explicit");
      const api = ts ? globalThis.turnstile : globalThis.hcaptcha;
      const id = api.render(element, {
        sitekey: cfg.SiteKey,
        callback: (t) => set(t),
        "expired-callback": () => set(""),
        "error-callback": () => set(""),
        language: l === "zh" ? "zh-CN" : "en",
        hl: l === "zh" ? "zh-CN" : "en",
      });
      handle.reset = () => {
        api.reset(id);
        set("");
      };
      return handle;
    }
    case "aliyun": {
      globalThis.AliyunCaptchaConfig = { region: opts.region || cfg.Region || "cn", prefix: opts.prefix || cfg.Prefix || "" };
      await loadScript("https://o.alicdn.com/captcha-frontend/aliyunCaptcha/AliyunCaptcha.js");
      if (!element.id) element.id = "aliyun-captcha";
      let instance = null;
      globalThis.initAliyunCaptcha({
        SceneId: cfg.SceneId,
        mode: "embed",
        element: "#" + element.id,
        button: opts.button || "#" + element.id,
        success: (param) => set(param),
        fail: () => set(""),
        getInstance: (i) => {
          instance = i;
        },
        language: l === "zh" ? "cn" : "en",
      });
      handle.reset = () => {
        set("");
        if (instance && instance.refresh) instance.refresh();
      };
      return handle;
    }
    default:
      throw new Error("unknown captcha provider " + cfg.Provider);
  }
}
