// Type declarations for smsverify.js, the ES module client of the smsverify
// HTTP API. Keep them beside the module: TypeScript picks them up for
// `import { send, check } from "./smsverify.js"`. The API itself is described
// by GET /openapi.json; a Go test keeps ErrorCode equal to the codes that
// document lists, and CI type-checks a strict sample against this file.

/** Codes the service answers itself (docs/api.md, Errors). */
export type LocalErrorCode =
  | "INVALID_PARAMETERS"
  | "MOBILE_NUMBER_ILLEGAL"
  | "INVALID_JSON"
  | "FIELD_NOT_ALLOWED"
  | "UNKNOWN_ACTION"
  | "CAPTCHA_REQUIRED"
  | "UNAUTHORIZED"
  | "CAPTCHA_FAILED"
  | "NOT_FOUND"
  | "METHOD_NOT_ALLOWED"
  | "IDEMPOTENCY_IN_PROGRESS"
  | "BODY_TOO_LARGE"
  | "UNSUPPORTED_MEDIA_TYPE"
  | "IDEMPOTENCY_KEY_REUSED"
  | "SEND_LIMIT_PHONE"
  | "SEND_LIMIT_IP"
  | "SEND_LIMIT_GLOBAL"
  | "CHECK_LIMIT_PHONE"
  | "CHECK_LIMIT_IP"
  | "MISSING_CREDENTIALS"
  | "INTERNAL_ERROR"
  | "UPSTREAM_UNREACHABLE"
  | "UPSTREAM_BAD_RESPONSE"
  | "LIMIT_STORE_UNAVAILABLE"
  | "CAPTCHA_UNAVAILABLE"
  | "UPSTREAM_TIMEOUT";

/**
 * Alibaba's codes, passed through unchanged. The families (e.g.
 * "Throttling.User", "InvalidParameter.PhoneNumber") are matched by prefix.
 * Dypnsapi may answer a code newer than this list with HTTP 429, 502 or 503;
 * it is passed through too, so compare with the codes you handle and treat
 * the rest by `status`.
 */
export type AlibabaErrorCode =
  | "isv.MOBILE_NUMBER_ILLEGAL"
  | "isv.INVALID_PARAMETERS"
  | "isv.PARAM_LENGTH_LIMIT"
  | "isv.MOBILE_COUNT_OVER_LIMIT"
  | "SECURITY_INTERCEPTED"
  | "DataNotFound"
  | "FREQUENCY_FAIL"
  | "biz.FREQUENCY"
  | "BUSINESS_LIMIT_CONTROL"
  | "isv.BUSINESS_LIMIT_CONTROL"
  | "SENTINEL_BLOCK_EXCEPTION"
  | "FUNCTION_NOT_OPENED"
  | "SignatureDoesNotMatch"
  | "IncompleteSignature"
  | "SignatureNonceUsed"
  | "InvalidTimeStamp.Expired"
  | "isv.SMS_SIGNATURE_ILLEGAL"
  | "isv.SMS_TEMPLATE_ILLEGAL"
  | "isv.ACCOUNT_ABNORMAL"
  | "isv.ACCOUNT_NOT_EXISTS"
  | "ServiceUnavailable"
  | "RESOURCE_NOT_ENOUGH"
  | "isv.AMOUNT_NOT_ENOUGH"
  | "isv.OUT_OF_SERVICE"
  | `MissingParameter${string}`
  | `InvalidParameter${string}`
  | `Throttling${string}`
  | `InvalidAccessKeyId${string}`
  | `InvalidSecurityToken${string}`
  | `Forbidden${string}`
  | `NoPermission${string}`
  | `ServiceUnavailable${string}`;

/**
 * This client's own codes: NETWORK_ERROR when the browser got no answer
 * (offline, or CORS refused: browsers do not say which), BAD_ANSWER when the
 * answer was not the API's JSON.
 */
export type ClientErrorCode = "NETWORK_ERROR" | "BAD_ANSWER";

/** Every `code` a SmsVerifyError can carry. */
export type ErrorCode = LocalErrorCode | AlibabaErrorCode | ClientErrorCode;

/** MESSAGES maps every code to a short message in Chinese and English. */
export declare const MESSAGES: { readonly [code: string]: { readonly zh: string; readonly en: string } };

/** lang returns "zh" or "en" for a BCP 47 tag (default: the browser's). */
export declare function lang(tag?: string): "zh" | "en";

/** message returns the user message for an error code. */
export declare function message(code: ErrorCode | string, language?: string): string;

/** SmsVerifyError is every failure of send, check and getClientConfig. */
export declare class SmsVerifyError extends Error {
  constructor(init: {
    code: ErrorCode;
    status?: number;
    message?: string;
    retryAfter?: number;
    requestId?: string;
    cause?: unknown;
  });
  readonly name: "SmsVerifyError";
  /** The API's Code, or NETWORK_ERROR / BAD_ANSWER. */
  readonly code: ErrorCode;
  /** The HTTP status; 0 when there was no answer (NETWORK_ERROR). */
  readonly status: number;
  /** The API's Message (English, for logs); show userMessage() to users. */
  readonly serverMessage: string;
  /** Seconds to wait before retrying (429 and 409); 0 when not given. */
  readonly retryAfter: number;
  /** The API's RequestId (or X-Request-Id); "" without an answer. */
  readonly requestId: string;
  /** userMessage is a short message for users, in Chinese or English. */
  userMessage(language?: string): string;
}

/** Options of every call. */
export interface CallOptions {
  /** The API's base URL, e.g. "https://sms.example.com"; default: this page's origin. */
  baseUrl?: string;
  /** Makes a retried request safe (Idempotency-Key header): printable ASCII, up to 255. */
  idempotencyKey?: string;
  /** Trusted callers only: never put an API key in a web page. */
  apiKey?: string;
  signal?: AbortSignal;
  fetch?: typeof globalThis.fetch;
}

/** Options of send. */
export interface SendOptions extends CallOptions {
  /** CaptchaVerifyParam: the captcha token, when GET /client-config asks for one. */
  captcha?: string;
  templateCode?: string;
  schemeName?: string;
  outId?: string;
  countryCode?: string;
}

/** Options of check. */
export interface CheckOptions extends CallOptions {
  captcha?: string;
  schemeName?: string;
  outId?: string;
  countryCode?: string;
  /** Compare letters case-sensitively (CaseAuthPolicy 2). */
  caseSensitive?: boolean;
}

/** Fields every successful answer carries. */
export interface Answer {
  Code: "OK";
  Message: "OK";
  RequestId: string;
  Success: true;
  /**
   * Added by this client: true when the service answered a retry from its
   * idempotency record (the Idempotent-Replayed: true header) instead of
   * running the request again.
   */
  replayed: boolean;
}

/** The answer of POST /send. */
export interface SendAnswer extends Answer {
  Model: {
    BizId?: string;
    OutId?: string;
    RequestId?: string;
    /** Only for trusted callers who set ReturnVerifyCode. */
    VerifyCode?: string;
  };
  /** Seconds until a code may be sent to this number again. */
  ResendAfter: number;
  /** Seconds the code stays valid. */
  ExpiresIn: number;
}

/** The answer of POST /check. A wrong code is not an error: it is UNKNOWN. */
export interface CheckAnswer extends Answer {
  Model: {
    /** PASS: the code matched. UNKNOWN: it did not, expired, or was used up. */
    VerifyResult: "PASS" | "UNKNOWN";
    OutId?: string;
    /** After a PASS, when the service issues tokens: a JWT for your backend to verify. */
    VerifyToken?: string;
    /** The token's expiry, Unix seconds. */
    VerifyTokenExpiresAt?: number;
    /**
     * Checks left for this number in the current window, this one counted:
     * show it after a wrong code ("2 attempts left"). At 0 the next check is
     * refused (429) until Retry-After.
     */
    AttemptsLeft?: number;
  };
}

/** One send in GET /attempts, newest first; what is unknown is left out. */
export interface Attempt {
  BizId: string;
  /** RFC 3339. */
  SentAt: string;
  TemplateCode?: string;
  SchemeName?: string;
  OutId?: string;
  /** A send to one of SMS_TEST_NUMBERS: no SMS, so no Delivery. */
  TestNumber?: true;
  /** PENDING until Alibaba's delivery receipt arrives. */
  Delivery?: "PENDING" | "DELIVERED" | "FAILED";
  /** The receipt's err_code: DELIVERED, or the carrier's failure code. */
  DeliveryCode?: string;
  DeliveredAt?: string;
  /** Judged checks (PASS or UNKNOWN) of this send's code. */
  Checks: number;
  /** The first check that passed, RFC 3339. */
  PassedAt?: string;
}

/** The answer of GET /attempts. */
export interface AttemptsAnswer {
  PhoneNumber: string;
  Attempts: Attempt[];
  replayed: boolean;
}

/** Options of listAttempts: a server's, with its API key. */
export interface ListAttemptsOptions extends CallOptions {
  /** Required: GET /attempts is for trusted callers only. */
  apiKey: string;
  countryCode?: string;
  /** Narrows the answer to this send. */
  bizId?: string;
}

/** The captcha part of GET /client-config. */
export interface ClientCaptcha {
  Provider: "" | "aliyun" | "turnstile" | "hcaptcha" | "test";
  Actions: Array<"send" | "check">;
  SiteKey?: string;
  SceneId?: string;
  Prefix?: string;
  Region?: "cn" | "sgp";
  PassPrefix?: string;
}

/** The answer of GET /client-config: public settings, never a secret. */
export interface ClientConfig {
  Captcha: ClientCaptcha;
  CodeLength: number;
  CodeType: number;
  ValidTime: number;
  ResendInterval: number;
  TemplateCode: string;
  TemplateCodes: string[];
  SchemeName: string;
  SchemeNames: string[];
  CountryCodes: string[];
  VerifyToken: boolean;
  replayed: boolean;
}

/** send asks the service to text a code to phone (POST /send). */
export declare function send(phone: string, opts?: SendOptions): Promise<SendAnswer>;

/** check asks whether code is the one sent to phone (POST /check). */
export declare function check(phone: string, code: string, opts?: CheckOptions): Promise<CheckAnswer>;

/**
 * listAttempts lists what became of the recent SMS to phone (GET /attempts).
 * For servers only (a support tool, a Node.js backend): it needs an API key,
 * which must never be put in a web page.
 */
export declare function listAttempts(phone: string, opts: ListAttemptsOptions): Promise<AttemptsAnswer>;

/** getClientConfig fetches the public settings (GET /client-config). */
export declare function getClientConfig(opts?: CallOptions): Promise<ClientConfig>;

/**
 * startCountdown calls onTick(secondsLeft) now and every second until
 * seconds have passed, then onDone(). It returns a function that stops it.
 */
export declare function startCountdown(seconds: number, onTick?: (secondsLeft: number) => void, onDone?: () => void): () => void;

/** The claims of a verification token. */
export interface TokenClaims {
  iss: string;
  sub: string;
  aud?: string | string[];
  iat: number;
  exp: number;
  jti: string;
  phone_number: string;
  country_code: string;
  phone_number_verified: true;
  scheme?: string;
}

/** decodeTokenClaims returns a token's claims without checking it: display only; servers verify. */
export declare function decodeTokenClaims(token: string): TokenClaims | null;

/** What mountCaptcha resolves to. */
export interface CaptchaHandle {
  provider: ClientCaptcha["Provider"];
  /** Whether the public action needs a captcha token. */
  required(action: "send" | "check"): boolean;
  /** The value for opts.captcha; "" until solved. */
  token(): string;
  /** Call after each request that carried a token: tokens are single-use. */
  reset(): void;
}

/** mountCaptcha puts the configured captcha into element. */
export declare function mountCaptcha(
  element: HTMLElement,
  captcha: ClientCaptcha | null | undefined,
  opts?: { lang?: string; onChange?: (token: string) => void; prefix?: string; region?: "cn" | "sgp"; button?: string },
): Promise<CaptchaHandle>;
