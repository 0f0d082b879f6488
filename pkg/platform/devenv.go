package platform

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
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

// DevSecret returns the development secret kept at path (at least 32
// characters), generating 256 random bits as hex and writing them there
// (0600, parent directories created) the first time, so keys and tokens of
// `rollcall dev` survive a restart.
func DevSecret(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		return strings.TrimSpace(string(b)), nil
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	s := hex.EncodeToString(raw[:])
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("dev secret: %w", err)
	}
	if err := os.WriteFile(path, []byte(s+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("dev secret: %w", err)
	}
	return s, nil
}
