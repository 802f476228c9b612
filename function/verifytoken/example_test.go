package verifytoken_test

import (
	"fmt"
	"strings"
	"time"

	"smsverify/function/verifytoken"
)

func ExampleIssuer() {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	iss, err := verifytoken.NewIssuer(
		[]byte("example-secret-of-at-least-32-bytes"), // VERIFY_TOKEN_SECRET
		5*time.Minute,
		verifytoken.WithClock(func() time.Time { return now }),
		verifytoken.WithRandom(strings.NewReader("0123456789abcdef")),
	)
	if err != nil {
		fmt.Println(err)
		return
	}

	token, expiresAt, err := iss.Issue(verifytoken.Claims{PhoneNumber: "13800000000", CountryCode: "86", Scheme: "login"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("expires:", expiresAt.Format(time.RFC3339))

	claims, err := iss.Verify(token)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("phone:", claims.CountryCode, claims.PhoneNumber)
	fmt.Println("sub:", claims.Subject)
	fmt.Println("scheme:", claims.Scheme)
	fmt.Println("exp:", claims.ExpiresAt.UTC().Format(time.RFC3339))
	fmt.Println("jti:", claims.ID)
	// Output:
	// expires: 2025-06-01T12:05:00Z
	// phone: 86 13800000000
	// sub: +8613800000000
	// scheme: login
	// exp: 2025-06-01T12:05:00Z
	// jti: MDEyMzQ1Njc4OWFiY2RlZg
}
