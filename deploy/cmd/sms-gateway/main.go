// Command sms-gateway is a development stand-in for an SMS provider, for the
// docker-compose stack: it accepts the invitation service's SMS requests
// (one JSON POST of {to, text, sender}, the shape notify.HTTPSMS sends) and
// mails each message to an SMTP server (Mailpit), addressed to
// <number>@sms.localhost, so invitees' one-time codes show up in Mailpit
// beside their emails. It delivers no SMS; production points
// SMS_GATEWAY_URL at a real provider.
//
// Configuration (environment): SMS_GATEWAY_ADDR (default :8080),
// SMS_GATEWAY_SMTP (Mailpit's SMTP host:port, default mailpit:1025).
// It answers GET /healthz for the healthcheck.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/smtp"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// MailDomain is the domain of the addresses SMS are mailed to.
const MailDomain = "sms.localhost"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := realMain(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "sms-gateway: %v\n", err)
		os.Exit(1)
	}
}

func realMain(ctx context.Context) error {
	addr := envOr("SMS_GATEWAY_ADDR", ":8080")
	smtpAddr := envOr("SMS_GATEWAY_SMTP", "mailpit:1025")
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	srv := &http.Server{Addr: addr, Handler: Handler(smtpAddr, log), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("sms-gateway: a development stand-in that mails every SMS to Mailpit (not an SMS provider)", "addr", addr, "smtp", smtpAddr)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// Request is the body the invitation service posts (notify.HTTPSMSRequest).
type Request struct {
	To     string `json:"to"`
	Text   string `json:"text"`
	Sender string `json:"sender,omitempty"`
}

var number = regexp.MustCompile(`^\+?[0-9]{3,20}$`)

// Handler serves POST / (any path: SMS_GATEWAY_URL may carry one) and
// GET /healthz. A malformed request is 400, which the invitation service
// treats as a permanent refusal; an SMTP failure is 502, which it retries.
func Handler(smtpAddr string, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	mux.HandleFunc("POST /", func(w http.ResponseWriter, r *http.Request) {
		var req Request
		dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
		if err := dec.Decode(&req); err != nil {
			http.Error(w, "want a JSON body {to, text, sender}: "+err.Error(), http.StatusBadRequest)
			return
		}
		req.To = strings.TrimSpace(req.To)
		switch {
		case !number.MatchString(req.To):
			http.Error(w, "to: want a phone number (+ and digits)", http.StatusBadRequest)
			return
		case strings.TrimSpace(req.Text) == "":
			http.Error(w, "text: must not be empty", http.StatusBadRequest)
			return
		}
		if err := send(smtpAddr, req); err != nil {
			log.Warn("sms-gateway: mail to SMTP failed", "error", err)
			http.Error(w, "SMTP server unavailable", http.StatusBadGateway)
			return
		}
		log.Info("sms-gateway: SMS mailed", "to", req.To)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"accepted"}`))
	})
	return mux
}

func send(smtpAddr string, req Request) error {
	sender := req.Sender
	if sender == "" {
		sender = "Rollcall"
	}
	to := req.To + "@" + MailDomain
	from := "sms-gateway@" + MailDomain
	var b strings.Builder
	for _, h := range [][2]string{
		{"From", mime.QEncoding.Encode("utf-8", "SMS from "+sender) + " <" + from + ">"},
		{"To", "<" + to + ">"},
		{"Subject", mime.QEncoding.Encode("utf-8", "SMS to "+req.To)},
		{"Date", time.Now().Format(time.RFC1123Z)},
		{"MIME-Version", "1.0"},
		{"Content-Type", "text/plain; charset=utf-8"},
		{"Content-Transfer-Encoding", "8bit"},
	} {
		b.WriteString(h[0] + ": " + h[1] + "\r\n")
	}
	b.WriteString("\r\n")
	b.WriteString(strings.ReplaceAll(strings.ReplaceAll(req.Text, "\r\n", "\n"), "\n", "\r\n"))
	b.WriteString("\r\n")
	if err := smtp.SendMail(smtpAddr, nil, from, []string{to}, []byte(b.String())); err != nil {
		return errors.New("send to " + smtpAddr + ": " + err.Error())
	}
	return nil
}
