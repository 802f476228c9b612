package function

// ClientConfig is the answer of GET /client-config: the public settings a
// web page needs to drive the API. It never holds a secret.
type ClientConfig struct {
	Captcha        ClientCaptcha `json:"Captcha"`
	CodeLength     int64         `json:"CodeLength"`     // SMS_CODE_LENGTH
	CodeType       int64         `json:"CodeType"`       // SMS_CODE_TYPE
	ValidTime      int64         `json:"ValidTime"`      // SMS_VALID_TIME, seconds
	ResendInterval int64         `json:"ResendInterval"` // SMS_INTERVAL, seconds
	TemplateCode   string        `json:"TemplateCode"`   // SMS_TEMPLATE_CODE
	TemplateCodes  []string      `json:"TemplateCodes"`  // SMS_TEMPLATE_CODES
	SchemeName     string        `json:"SchemeName"`     // SMS_SCHEME_NAME
	SchemeNames    []string      `json:"SchemeNames"`    // SMS_SCHEME_NAMES
	CountryCodes   []string      `json:"CountryCodes"`   // what CountryCode accepts
	VerifyToken    bool          `json:"VerifyToken"`    // a PASS issues a token
}

// ClientCaptcha is ClientConfig's captcha part: what a page needs to show
// the widget.
type ClientCaptcha struct {
	Provider   string   `json:"Provider"`             // CAPTCHA_PROVIDER; "" for none
	Actions    []string `json:"Actions"`              // public actions that need CaptchaVerifyParam
	SiteKey    string   `json:"SiteKey,omitempty"`    // CAPTCHA_SITE_KEY
	SceneID    string   `json:"SceneId,omitempty"`    // CAPTCHA_SCENE_ID
	Prefix     string   `json:"Prefix,omitempty"`     // CAPTCHA_PREFIX: Captcha 2.0's identity prefix
	Region     string   `json:"Region,omitempty"`     // Captcha 2.0's region: "cn" or "sgp", from CAPTCHA_ENDPOINT
	PassPrefix string   `json:"PassPrefix,omitempty"` // the test provider's passing prefix
}

// clientConfig builds the GET /client-config answer from the Config.
func (c *Config) clientConfig() ClientConfig {
	return ClientConfig{
		Captcha:        c.clientCaptcha(),
		CodeLength:     c.CodeLength,
		CodeType:       c.CodeType,
		ValidTime:      c.ValidTime,
		ResendInterval: c.Interval,
		TemplateCode:   c.TemplateCode,
		TemplateCodes:  append([]string{}, c.TemplateCodes...),
		SchemeName:     c.SchemeName,
		SchemeNames:    append([]string{}, c.SchemeNames...),
		CountryCodes:   []string{"86"},
		VerifyToken:    c.VerifyTokenSecret != "" || c.VerifyTokenPrivateKey != "",
	}
}

// documentCache lets browsers and proxies keep the OpenAPI document a
// while; every other answer is no-store.
const documentCache = "public, max-age=300"
