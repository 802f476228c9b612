module smsverify

go 1.26.0

require (
	github.com/aliyun/fc-runtime-go-sdk v0.3.1
	github.com/aws/aws-lambda-go v1.55.1
	github.com/golang-jwt/jwt/v5 v5.3.1
	github.com/kelseyhightower/envconfig v1.4.0
	github.com/redis/go-redis/v9 v9.23.0
	gopkg.in/yaml.v3 v3.0.1
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
)
