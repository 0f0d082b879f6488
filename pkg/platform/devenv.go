package platform

import (
	"io"
	"log/slog"
)

// DevEnv is what `rollcall dev` tells each service about the all-in-one
// stack. Each service turns it into its own Config with a DevConfig
// function, so a service's development defaults live beside its Config and
// not in the CLI.
type DevEnv struct {
	// BaseURL is where every service's API answers (one port for all).
	BaseURL string
	// ServiceToken is the one service token every service accepts on its
	// internal RPCs and presents when it calls another service.
	ServiceToken string
	// DataDir keeps state that must survive a restart of `rollcall dev`
	// (generated keys, the bootstrap admin's token).
	DataDir string
	// SMTPHost and SMTPPort are the dev mail sink's SMTP server; its HTTP
	// SMS gateway is BaseURL + "/dev/mail/api/sms".
	SMTPHost string
	SMTPPort int
	// Out is the developer's terminal, for what they must see at start-up.
	Out io.Writer
	Log *slog.Logger
}
