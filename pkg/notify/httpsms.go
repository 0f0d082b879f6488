package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// HTTPSMSRequest is the JSON body HTTPSMS posts: the common shape of SMS
// gateways' "send one message" endpoints. The dev sink
// (mailsink, POST /api/sms) accepts the same body.
type HTTPSMSRequest struct {
	To     string `json:"to"`
	Text   string `json:"text"`
	Sender string `json:"sender,omitempty"`
}

// HTTPSMS sends SMS through an HTTP gateway: one POST of HTTPSMSRequest as
// JSON, with an optional bearer token. 2xx is delivered; 400, 403, 404 and
// 422 are permanent refusals; 401 is permanent too (a wrong token does not
// fix itself); 429, 5xx and network errors are transient.
type HTTPSMS struct {
	url    string
	token  string
	client *http.Client
}

// NewHTTPSMS checks the gateway URL (http or https, absolute). The token may
// be empty.
func NewHTTPSMS(gatewayURL, token string, timeout time.Duration) (*HTTPSMS, error) {
	u, err := url.Parse(gatewayURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, invalidf("SMS gateway URL must be an absolute http(s) URL")
	}
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	return &HTTPSMS{url: gatewayURL, token: token, client: &http.Client{Timeout: timeout}}, nil
}

// SendSMS posts one message.
func (h *HTTPSMS) SendSMS(ctx context.Context, s SMS) error {
	if err := s.Validate(); err != nil {
		return err
	}
	body, err := json.Marshal(HTTPSMSRequest(s))
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if h.token != "" {
		req.Header.Set("Authorization", "Bearer "+h.token)
	}
	res, err := h.client.Do(req)
	if err != nil {
		return transient(errors.New("SMS gateway unreachable")) // the error text may carry the URL's credentials
	}
	defer func() { _ = res.Body.Close() }()
	detail, _ := io.ReadAll(io.LimitReader(res.Body, 512))
	switch {
	case res.StatusCode >= 200 && res.StatusCode < 300:
		return nil
	case res.StatusCode == http.StatusTooManyRequests || res.StatusCode >= 500:
		return transient(fmt.Errorf("SMS gateway answered %d", res.StatusCode))
	default:
		return Permanent(fmt.Errorf("SMS gateway refused the message (%d): %s", res.StatusCode, strings.TrimSpace(string(detail))))
	}
}
