package deploy

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/sethvargo/go-envconfig"
	"github.com/stretchr/testify/require"

	"rollcall.dev/pkg/platform"
	identity "rollcall.dev/services/identity"
	integratorpolicy "rollcall.dev/services/integrator-policy"
	invitation "rollcall.dev/services/invitation"
	syncsvc "rollcall.dev/services/sync"
)

// root is the repository root (this module lives in deploy/).
func root(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs("..")
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(dir, "go.work"))
	require.NoError(t, err, "the deploy module is expected at <repo>/deploy")
	return dir
}

// appService is one Rollcall service as the deployment files know it: its
// name is the compose service, the Dockerfile target, the Kubernetes
// Deployment and the platform module's name.
type appService struct {
	name string
	// config returns a new, empty pointer to the service's own Config.
	config func() platform.Validator
	// module builds the service's platform module from a loaded Config.
	module func(platform.Validator) platform.Module
}

var appServices = []appService{
	{
		name:   invitation.Name,
		config: func() platform.Validator { return &invitation.Config{} },
		module: func(c platform.Validator) platform.Module { return invitation.Module(*c.(*invitation.Config)) },
	},
	{
		name:   identity.Name,
		config: func() platform.Validator { return &identity.Config{} },
		module: func(c platform.Validator) platform.Module { return identity.Module(*c.(*identity.Config)) },
	},
	{
		name:   integratorpolicy.Name,
		config: func() platform.Validator { return &integratorpolicy.Config{} },
		module: func(c platform.Validator) platform.Module {
			return integratorpolicy.Module(*c.(*integratorpolicy.Config))
		},
	},
	{
		name:   syncsvc.Name,
		config: func() platform.Validator { return &syncsvc.Config{} },
		module: func(c platform.Validator) platform.Module { return syncsvc.Module(*c.(*syncsvc.Config)) },
	},
}

// envKey is one variable a Config reads (a go-envconfig `env` tag).
type envKey struct {
	Required   bool
	HasDefault bool
}

// envKeys reads the `env` tags of a Config struct by reflection, the way
// go-envconfig does: `env:"NAME, required"`, `env:"NAME, default=x"`.
func envKeys(t testing.TB, cfg any) map[string]envKey {
	t.Helper()
	typ := reflect.TypeOf(cfg)
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	keys := map[string]envKey{}
	for i := range typ.NumField() {
		f := typ.Field(i)
		tag, ok := f.Tag.Lookup("env")
		if !ok {
			continue
		}
		parts := strings.Split(tag, ",")
		name := strings.TrimSpace(parts[0])
		require.NotEmpty(t, name, "%s.%s has an empty env tag", typ, f.Name)
		var k envKey
		for _, p := range parts[1:] {
			p = strings.TrimSpace(p)
			switch {
			case p == "required":
				k.Required = true
			case strings.HasPrefix(p, "default="):
				k.HasDefault = true
			}
		}
		keys[name] = k
	}
	require.NotEmpty(t, keys, "%s reads no environment variables", typ)
	return keys
}

// loadConfig fills cfg from env exactly as the service binary does from
// its environment (go-envconfig), then runs its Validate.
func loadConfig(ctx context.Context, cfg platform.Validator, env map[string]string) error {
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: cfg, Lookuper: envconfig.MapLookuper(env)}); err != nil {
		return err
	}
	return cfg.Validate()
}

// platformConfig is platform.Config as a Validator.
type platformConfig struct{ platform.Config }

func (c *platformConfig) Validate() error { return c.Config.Validate() }

// generatedEnv runs deploy/gen-env.sh (the quick start's first step) into a
// temporary file and returns what it wrote.
func generatedEnv(t testing.TB) map[string]string {
	t.Helper()
	out := filepath.Join(t.TempDir(), ".env")
	cmd := exec.Command("sh", filepath.Join(root(t), "deploy", "gen-env.sh"), out)
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, string(b))
	env, err := dotenv.Read(out)
	require.NoError(t, err)
	return env
}

// exampleEnv is .env.example as it is committed.
func exampleEnv(t testing.TB) map[string]string {
	t.Helper()
	env, err := dotenv.Read(filepath.Join(root(t), ".env.example"))
	require.NoError(t, err)
	return env
}

// loadCompose loads docker-compose.yml with the compose-spec loader (schema
// validation, interpolation, consistency checks), every profile enabled.
func loadCompose(t testing.TB, env map[string]string) (*types.Project, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := root(t)
	return loader.LoadWithContext(ctx, types.ConfigDetails{
		WorkingDir:  dir,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(dir, "docker-compose.yml")}},
		Environment: maps.Clone(env), // the loader adds to it
	}, func(o *loader.Options) {
		o.SetProjectName("rollcall", true)
		o.Profiles = []string{"*"}
	})
}

// composeProject is the compose project with secrets from gen-env.sh.
func composeProject(t testing.TB) *types.Project {
	t.Helper()
	p, err := loadCompose(t, generatedEnv(t))
	require.NoError(t, err)
	return p
}

// environment is a compose service's resolved environment.
func environment(t testing.TB, s types.ServiceConfig) map[string]string {
	t.Helper()
	env := map[string]string{}
	for k, v := range s.Environment {
		require.NotNil(t, v, "service %s: %s has no value", s.Name, k)
		env[k] = *v
	}
	return env
}

// mountedPaths rewrites values naming a file inside a bind mount of s
// (e.g. PARTNERS_FILE=/etc/rollcall/partners.json) to the file on this
// machine, so a Config that reads the file at validation can.
func mountedPaths(s types.ServiceConfig, env map[string]string) map[string]string {
	out := make(map[string]string, len(env))
	for k, v := range env {
		out[k] = v
		for _, vol := range s.Volumes {
			if vol.Type != types.VolumeTypeBind {
				continue
			}
			if v == vol.Target || strings.HasPrefix(v, strings.TrimSuffix(vol.Target, "/")+"/") {
				out[k] = vol.Source + strings.TrimPrefix(v, vol.Target)
			}
		}
	}
	return out
}

// goEnvTags parses the Go files of dir (not tests) and returns, per struct
// type, the variables its fields name in `env:"..."` tags (kong and
// go-envconfig both use that tag).
func goEnvTags(t testing.TB, dir string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	forStructs(t, dir, func(name string, st *ast.StructType) {
		for _, f := range st.Fields.List {
			if f.Tag == nil {
				continue
			}
			tag, err := strconv.Unquote(f.Tag.Value)
			require.NoError(t, err)
			if v, ok := reflect.StructTag(tag).Lookup("env"); ok {
				for _, n := range strings.Split(v, ",") {
					if n = strings.TrimSpace(n); n != "" && !strings.Contains(n, "=") && n != "required" {
						out[name] = append(out[name], n)
					}
				}
			}
		}
	})
	return out
}

// kongCommands maps each command of cmd/rollcall's kong command tree (the
// `cli` struct's fields tagged cmd:"") to its struct type.
func kongCommands(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	forStructs(t, dir, func(name string, st *ast.StructType) {
		if name != "cli" {
			return
		}
		for _, f := range st.Fields.List {
			if f.Tag == nil || len(f.Names) != 1 {
				continue
			}
			tag, err := strconv.Unquote(f.Tag.Value)
			require.NoError(t, err)
			st := reflect.StructTag(tag)
			if _, ok := st.Lookup("cmd"); !ok {
				continue
			}
			cmd := st.Get("name")
			if cmd == "" {
				cmd = kebab(f.Names[0].Name)
			}
			if id, ok := f.Type.(*ast.Ident); ok {
				out[cmd] = id.Name
			}
		}
	})
	require.NotEmpty(t, out, "no kong commands found in %s", dir)
	return out
}

// kebab is kong's default command name for a field: DeadLetters -> dead-letters.
func kebab(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('-')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

func forStructs(t testing.TB, dir string, fn func(name string, st *ast.StructType)) {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	require.NoError(t, err)
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		require.NoError(t, err)
		ast.Inspect(f, func(n ast.Node) bool {
			if ts, ok := n.(*ast.TypeSpec); ok {
				if st, ok := ts.Type.(*ast.StructType); ok {
					fn(ts.Name.Name, st)
				}
			}
			return true
		})
	}
}

// goEnvCalls returns the variables the Go files of dir read with
// os.Getenv or envOr (the sms-gateway's helper), by their string literals.
func goEnvCalls(t testing.TB, dir string) []string {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	require.NoError(t, err)
	seen := map[string]bool{}
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		require.NoError(t, err)
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			var fn string
			switch x := call.Fun.(type) {
			case *ast.Ident:
				fn = x.Name
			case *ast.SelectorExpr:
				fn = x.Sel.Name
			}
			if fn != "envOr" && fn != "Getenv" && fn != "LookupEnv" {
				return true
			}
			if lit, ok := call.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				s, _ := strconv.Unquote(lit.Value)
				seen[s] = true
			}
			return true
		})
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
