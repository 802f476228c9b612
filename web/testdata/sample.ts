// A strict TypeScript page using smsverify.js through smsverify.d.ts. CI
// type-checks it (tsc --strict --noEmit, web/dts_test.go); it is never run.
import { check, getClientConfig, listAttempts, send, SmsVerifyError, startCountdown, type ErrorCode } from "../smsverify.js";

const opts = { baseUrl: "https://sms.example.com" };

export async function verify(phone: string, code: string): Promise<string | null> {
  const cfg = await getClientConfig(opts);
  const captchaNeeded: boolean = cfg.Captcha.Actions.includes("send");
  try {
    const sent = await send(phone, { ...opts, captcha: captchaNeeded ? "pass-1" : undefined, idempotencyKey: "k-1" });
    const stop: () => void = startCountdown(sent.ResendAfter, (s: number) => console.log(s));
    stop();
    if (sent.replayed) console.log("answered from the idempotency record");
    const res = await check(phone, code, opts);
    if (res.Model.VerifyResult === "PASS") return res.Model.VerifyToken ?? null;
    const left: number | undefined = res.Model.AttemptsLeft;
    console.log(`${left ?? "?"} attempts left`);
    return null;
  } catch (err) {
    if (!(err instanceof SmsVerifyError)) throw err;
    const c: ErrorCode = err.code;
    switch (c) {
      case "SEND_LIMIT_PHONE":
      case "CHECK_LIMIT_IP":
      case "FREQUENCY_FAIL":
        console.log(`retry in ${err.retryAfter}s`);
        break;
      case "NETWORK_ERROR":
        console.log("offline or CORS refused");
        break;
      default:
        if (c.startsWith("Throttling")) console.log("Alibaba throttled us");
    }
    console.log(err.userMessage("en"), err.status, err.requestId);
    return null;
  }
}

// A server's support tool: what became of the SMS sent to phone.
export async function delivery(phone: string, apiKey: string): Promise<string> {
  const ans = await listAttempts(phone, { baseUrl: "https://sms.example.com", apiKey });
  const last = ans.Attempts[0];
  return last ? `${last.BizId}: ${last.Delivery ?? "test number"}, ${last.Checks} checks` : "none";
}
