package syncsvc

import "rollcall.dev/pkg/platform"

// Config is the service's own configuration, read from the environment by
// its binary (platform.LoadEnv) beside platform.Config.
type Config struct{}

// Validate reports the first invalid setting, naming its variable.
func (Config) Validate() error { return nil }

// DevConfig is the configuration `rollcall dev` runs the service with.
func DevConfig(platform.DevEnv) (Config, error) { return Config{}, nil }
