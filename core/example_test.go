package core_test

import (
	"context"
	"fmt"
	"strings"

	"smsverify/core"
	"smsverify/core/dypnstest"
)

func ExampleClient_Send() {
	srv := dypnstest.NewServer(dypnstest.Options{}) // a fake Dypnsapi on loopback
	defer srv.Close()

	c, err := core.NewClient(core.Options{
		Endpoint:    srv.URL, // omit for https://dypnsapi.aliyuncs.com
		Credentials: core.StaticCredentials(dypnstest.TestCredentials()),
	})
	if err != nil {
		panic(err)
	}
	res, err := c.Send(context.Background(), &core.SendRequest{
		PhoneNumber:   "13800000000",
		SignName:      "速通互联验证码",
		TemplateCode:  "100001",
		TemplateParam: `{"code":"##code##","min":"5"}`,
		CodeLength:    core.Int64(6),
	})
	if err != nil {
		if wait, limited := core.RateLimited(err); limited {
			fmt.Println("try again in", wait)
		}
		return
	}
	fmt.Println(res.Code, res.Model.BizID != "")
	fmt.Println(len(srv.Codes("13800000000")[0].VerifyCode), "digits sent")
	// Output:
	// OK true
	// 6 digits sent
}

func ExampleClient_Check() {
	srv := dypnstest.NewServer(dypnstest.Options{})
	defer srv.Close()
	c, _ := core.NewClient(core.Options{Endpoint: srv.URL, Credentials: core.StaticCredentials(dypnstest.TestCredentials())})
	ctx := context.Background()
	_, _ = c.Send(ctx, &core.SendRequest{PhoneNumber: "13800000000", SignName: "速通互联验证码",
		TemplateCode: "100001", TemplateParam: `{"code":"##code##","min":"5"}`})
	code := srv.Codes("13800000000")[0].VerifyCode // what the user typed

	for _, typed := range []string{strings.Repeat("0", 8), code, code} {
		res, err := c.Check(ctx, &core.CheckRequest{PhoneNumber: "13800000000", VerifyCode: typed})
		if err != nil {
			// Never "wrong code": the check itself failed.
			fmt.Println("check failed:", core.KindOf(err))
			continue
		}
		fmt.Println(res.Model.VerifyResult, res.Passed())
	}
	// Output:
	// UNKNOWN false
	// PASS true
	// UNKNOWN false
}

func ExampleClient_Warm() {
	srv := dypnstest.NewServer(dypnstest.Options{}) // a fake Dypnsapi on loopback
	defer srv.Close()

	c, err := core.NewClient(core.Options{Endpoint: srv.URL, Credentials: core.StaticCredentials(dypnstest.TestCredentials())})
	if err != nil {
		panic(err)
	}
	// At the process's start: the first Send finds the connection open.
	warmed := make(chan error, 1)
	go func() { warmed <- c.Warm(context.Background()) }()

	fmt.Println("warm-up:", <-warmed)
	fmt.Println("actions called:", srv.SendCount()+srv.CheckCount())
	// Output:
	// warm-up: <nil>
	// actions called: 0
}
