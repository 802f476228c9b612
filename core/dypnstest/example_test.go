package dypnstest_test

import (
	"context"
	"fmt"

	"smsverify/core"
	"smsverify/core/dypnstest"
)

// ExampleNewServer sends a code through core.Client to the fake and checks
// it twice: a code passes once.
func ExampleNewServer() {
	srv := dypnstest.NewServer(dypnstest.Options{})
	defer srv.Close()

	client, err := core.NewClient(core.Options{
		Endpoint:    srv.URL,
		Credentials: core.StaticCredentials(dypnstest.TestCredentials()),
	})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	sent, err := client.Send(ctx, &core.SendRequest{
		PhoneNumber:   "13800000000",
		SignName:      "速通互联验证码",
		TemplateCode:  "100001",
		TemplateParam: `{"code":"##code##","min":"5"}`,
		CodeLength:    core.Int64(6),
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("send:", sent.Code)

	// The code reached the "phone": read it from the fake.
	codes := srv.Codes("13800000000")
	code := codes[len(codes)-1].VerifyCode
	fmt.Println("code length:", len(code))

	for range 2 {
		res, err := client.Check(ctx, &core.CheckRequest{PhoneNumber: "13800000000", VerifyCode: code})
		if err != nil {
			panic(err)
		}
		fmt.Println("check:", res.Model.VerifyResult)
	}
	// Output:
	// send: OK
	// code length: 6
	// check: PASS
	// check: UNKNOWN
}
