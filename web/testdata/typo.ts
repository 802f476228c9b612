// Must NOT type-check: ErrorCode is a union of the documented codes, so a
// misspelt code is a compile error (web/dts_test.go).
import { SmsVerifyError } from "../smsverify.js";

export function isPhoneLimit(err: SmsVerifyError): boolean {
  return err.code === "SEND_LIMT_PHONE";
}
