package deploy

import (
	"bufio"
	"debug/elf"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/modfile"
	"golang.org/x/mod/semver"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper case
	args string
}

type stage struct {
	name, from string
	ins        []instruction
}

type dockerfile struct {
	args   map[string]string // global ARGs (before the first FROM) and their defaults
	stages []stage
}

func (d dockerfile) stage(name string) (stage, bool) {
	for _, s := range d.stages {
		if s.name == name {
			return s, true
		}
	}
	return stage{}, false
}

// chain is a stage and the stages it is built FROM, nearest first, ending
// with the stage whose FROM is an image.
func (d dockerfile) chain(t testing.TB, name string) []stage {
	t.Helper()
	var out []stage
	for {
		s, ok := d.stage(name)
		require.True(t, ok, "no stage %s", name)
		out = append(out, s)
		if _, ok := d.stage(s.from); !ok {
			return out
		}
		name = s.from
	}
}

// parseDockerfile reads the Dockerfile at the repository root: comments
// dropped, `\` continuations joined, FROM [--platform=...] image [AS name].
func parseDockerfile(t testing.TB) dockerfile {
	t.Helper()
	f, err := os.Open(filepath.Join(root(t), "Dockerfile"))
	require.NoError(t, err)
	defer f.Close()
	d := dockerfile{args: map[string]string{}}
	var logical []string
	var cur strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || (line == "" && cur.Len() == 0) {
			continue
		}
		if strings.HasSuffix(line, `\`) {
			cur.WriteString(strings.TrimSuffix(line, `\`) + " ")
			continue
		}
		cur.WriteString(line)
		logical = append(logical, cur.String())
		cur.Reset()
	}
	require.NoError(t, sc.Err())
	require.Zero(t, cur.Len(), "the Dockerfile ends inside a continuation")
	for _, l := range logical {
		cmd, args, _ := strings.Cut(l, " ")
		in := instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		switch {
		case in.cmd == "FROM":
			fields := strings.Fields(in.args)
			if strings.HasPrefix(fields[0], "--platform=") {
				fields = fields[1:]
			}
			s := stage{from: fields[0]}
			if len(fields) == 3 && strings.EqualFold(fields[1], "AS") {
				s.name = fields[2]
			}
			d.stages = append(d.stages, s)
		case len(d.stages) == 0:
			require.Equal(t, "ARG", in.cmd, "only ARG may come before the first FROM")
			k, v, _ := strings.Cut(in.args, "=")
			d.args[k] = v
		default:
			last := &d.stages[len(d.stages)-1]
			last.ins = append(last.ins, in)
		}
	}
	return d
}

// dockerTargets are the images: the four services, the CLI and the SMS
// stand-in.
func dockerTargets() []string {
	var out []string
	for _, s := range appServices {
		out = append(out, s.name)
	}
	return append(out, "rollcall", "sms-gateway")
}

var distroless = regexp.MustCompile(`^gcr\.io/distroless/static(-debian[0-9]+)?:nonroot(@sha256:[0-9a-f]{64})?$`)

// Each image is a target: a static binary from the build stage, as its
// entrypoint, on distroless static, as a non-root user, with /probe.
func TestDockerfileTargets(t *testing.T) {
	t.Parallel()
	d := parseDockerfile(t)
	build, ok := d.stage("build")
	require.True(t, ok, "a build stage")
	built := buildOutputs(t, build)

	targets := dockerTargets()
	for _, s := range composeProject(t).Services {
		if s.Build != nil {
			require.Contains(t, targets, s.Build.Target, "compose service %s builds a target this test knows", s.Name)
		}
	}
	for _, target := range targets {
		t.Run(target, func(t *testing.T) {
			chain := d.chain(t, target)
			base := chain[len(chain)-1]
			require.Regexp(t, distroless, base.from, "%s runs on distroless static, nonroot", target)
			var user string
			copied := map[string]string{} // destination -> /out/ binary
			var entrypoint []string
			for i := len(chain) - 1; i >= 0; i-- {
				for _, in := range chain[i].ins {
					switch in.cmd {
					case "USER":
						user = in.args
					case "COPY":
						f := strings.Fields(in.args)
						if f[0] == "--from=build" && len(f) == 3 {
							copied[f[2]] = f[1]
						}
					case "ENTRYPOINT":
						require.NoError(t, json.Unmarshal([]byte(in.args), &entrypoint), "ENTRYPOINT in exec form")
					}
				}
			}
			require.Regexp(t, `^(65532(:65532)?|nonroot(:nonroot)?)$`, user, "%s runs as the non-root user", target)
			require.NotEmpty(t, entrypoint)
			bin := entrypoint[0]
			require.Equal(t, "/"+target, bin, "the entrypoint is the target's binary")
			require.Equal(t, "/out/"+target, copied[bin], "%s comes from the build stage", bin)
			require.Contains(t, built, target, "the build stage builds %s", target)
			require.Equal(t, "/out/probe", copied["/probe"], "%s has the healthcheck probe", target)
		})
	}
}

// buildOutputs is the binaries the build stage's `go build -o /out/` makes
// (one per package, named after its last path element).
func buildOutputs(t testing.TB, build stage) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, pkg := range buildPackages(t, build) {
		out[pkg[strings.LastIndex(pkg, "/")+1:]] = pkg
	}
	return out
}

func buildCommand(t testing.TB, build stage) string {
	t.Helper()
	for _, in := range build.ins {
		if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
			return stripMounts(in.args)
		}
	}
	t.Fatal("no RUN go build in the build stage")
	return ""
}

func buildPackages(t testing.TB, build stage) []string {
	t.Helper()
	var pkgs []string
	for _, f := range strings.Fields(buildCommand(t, build)) {
		if strings.HasPrefix(f, "rollcall.dev/") && !strings.Contains(f, "=") {
			pkgs = append(pkgs, f)
		}
	}
	require.NotEmpty(t, pkgs)
	return pkgs
}

// stripMounts drops RUN's --mount=... options (BuildKit's, not the shell's).
func stripMounts(run string) string {
	f := strings.Fields(run)
	for len(f) > 0 && strings.HasPrefix(f[0], "--") {
		f = f[1:]
	}
	return strings.Join(f, " ")
}

// The build stage is go.work-aware and static: the Go of the workspace,
// CGO off, every workspace module's go.mod and go.sum copied before the
// download, and every command of the repository built.
func TestDockerfileBuildStage(t *testing.T) {
	t.Parallel()
	d := parseDockerfile(t)
	build, _ := d.stage("build")
	require.Regexp(t, `^golang:\$\{GO_VERSION\}-`, build.from)
	goVersion := d.args["GO_VERSION"]
	require.Regexp(t, `^1\.[0-9]+\.[0-9]+$`, goVersion, "an exact Go version")

	dir := root(t)
	workBytes, err := os.ReadFile(filepath.Join(dir, "go.work"))
	require.NoError(t, err)
	work, err := modfile.ParseWork("go.work", workBytes, nil)
	require.NoError(t, err)
	require.True(t, semver.Compare("v"+goVersion, "v"+work.Go.Version) >= 0, "GO_VERSION %s is older than go.work's %s", goVersion, work.Go.Version)
	require.Equal(t, semver.MajorMinor("v"+work.Go.Version), semver.MajorMinor("v"+goVersion), "the image's Go is go.work's")

	var env []string
	var copies []string
	downloadAt := -1
	for _, in := range build.ins {
		switch in.cmd {
		case "ENV":
			env = append(env, strings.Fields(in.args)...)
		case "COPY":
			copies = append(copies, in.args)
		case "RUN":
			if strings.Contains(in.args, "go mod download") {
				downloadAt = len(copies)
			}
		}
	}
	require.Contains(t, env, "CGO_ENABLED=0", "static binaries")
	require.GreaterOrEqual(t, downloadAt, 0, "dependencies are downloaded in a layer of their own")
	before := copies[:downloadAt]
	require.Contains(t, before, "go.work go.work.sum ./")
	for _, use := range work.Use {
		m := strings.TrimPrefix(use.Path, "./")
		require.Contains(t, before, m+"/go.mod "+m+"/go.sum "+m+"/", "go.work uses %s: its go.mod and go.sum are copied before the download", m)
		modBytes, err := os.ReadFile(filepath.Join(dir, m, "go.mod"))
		require.NoError(t, err)
		mf, err := modfile.ParseLax("go.mod", modBytes, nil)
		require.NoError(t, err)
		require.True(t, semver.Compare("v"+goVersion, "v"+mf.Go.Version) >= 0, "%s needs Go %s", m, mf.Go.Version)
	}
	require.Equal(t, ". .", copies[len(copies)-1], "then the sources")

	// Every command in the repository is built.
	var mains []string
	for _, pattern := range []string{"services/*/cmd/*", "cmd/*", "deploy/cmd/*"} {
		dirs, err := filepath.Glob(filepath.Join(dir, pattern))
		require.NoError(t, err)
		for _, d := range dirs {
			if st, err := os.Stat(d); err == nil && st.IsDir() {
				rel, err := filepath.Rel(dir, d)
				require.NoError(t, err)
				mains = append(mains, "rollcall.dev/"+filepath.ToSlash(rel))
			}
		}
	}
	require.ElementsMatch(t, mains, buildPackages(t, build))
}

// The Dockerfile's own steps, run here on the build context .dockerignore
// leaves: the download step with only the files copied before it, then the
// build; every binary is statically linked.
func TestDockerfileStepsBuildStaticBinaries(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every binary")
	}
	t.Parallel()
	d := parseDockerfile(t)
	build, _ := d.stage("build")
	repo := root(t)
	context := buildContext(t, repo)

	var env []string
	for _, in := range build.ins {
		if in.cmd == "ENV" {
			env = append(env, strings.Fields(in.args)...)
		}
	}
	goEnv := func(extra ...string) []string {
		var out []string
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "GOWORK=") && !strings.HasPrefix(kv, "GOFLAGS=") && !strings.HasPrefix(kv, "CGO_ENABLED=") {
				out = append(out, kv)
			}
		}
		return append(append(out, env...), extra...)
	}

	// Step 1: the files COPYed before `go mod download`, and the download.
	deps := t.TempDir()
	for _, in := range build.ins {
		if in.cmd == "RUN" && strings.Contains(in.args, "go mod download") {
			cmd := exec.Command("sh", "-c", stripMounts(in.args))
			cmd.Dir, cmd.Env = deps, goEnv()
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "go mod download with only the copied go.mod files:\n%s", out)
			break
		}
		if in.cmd == "COPY" && in.args != ". ." {
			f := strings.Fields(in.args)
			dst := filepath.Join(deps, f[len(f)-1])
			for _, src := range f[:len(f)-1] {
				copyFile(t, filepath.Join(context, src), filepath.Join(dst, filepath.Base(src)))
			}
		}
	}

	// Step 2: the build, on the whole context, into a directory of ours.
	outDir := t.TempDir()
	script := strings.ReplaceAll(buildCommand(t, build), "/out/", outDir+"/")
	cmd := exec.Command("sh", "-c", script)
	cmd.Dir = context
	cmd.Env = goEnv("TARGETOS=linux", "TARGETARCH="+runtime.GOARCH, "VERSION=deploy-test")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "the Dockerfile's go build:\n%s", out)

	for _, target := range append(dockerTargets(), "probe") {
		f, err := elf.Open(filepath.Join(outDir, target))
		require.NoError(t, err, "binary %s", target)
		for _, p := range f.Progs {
			require.NotEqual(t, elf.PT_INTERP, p.Type, "%s is dynamically linked", target)
		}
		libs, err := f.ImportedLibraries()
		require.NoError(t, err)
		require.Empty(t, libs, "%s needs shared libraries", target)
		require.NoError(t, f.Close())
	}
	version, err := exec.Command(filepath.Join(outDir, "rollcall"), "--help").CombinedOutput()
	require.NoError(t, err, string(version))
	require.Contains(t, string(version), "erpsim", "the CLI image runs `rollcall erpsim`")
}

// buildContext copies the repository into a temporary directory, leaving
// out what .dockerignore excludes (the Docker client's own matcher).
func buildContext(t testing.TB, repo string) string {
	t.Helper()
	f, err := os.Open(filepath.Join(repo, ".dockerignore"))
	require.NoError(t, err)
	patterns, err := ignorefile.ReadAll(f)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	pm, err := patternmatcher.New(patterns)
	require.NoError(t, err)
	dst := t.TempDir()
	err = filepath.WalkDir(repo, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(repo, path)
		if err != nil || rel == "." {
			return err
		}
		skip, err := pm.MatchesOrParentMatches(filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		if skip {
			if e.IsDir() && !pm.Exclusions() {
				return filepath.SkipDir
			}
			return nil
		}
		if e.IsDir() || !e.Type().IsRegular() {
			return nil
		}
		copyFile(t, path, filepath.Join(dst, rel))
		return nil
	})
	require.NoError(t, err)
	for _, excluded := range []string{".git", ".env", "bin", "deploy/kubernetes"} {
		require.NoFileExists(t, filepath.Join(dst, excluded))
		require.NoDirExists(t, filepath.Join(dst, excluded))
	}
	tests, _ := filepath.Glob(filepath.Join(dst, "deploy", "*_test.go"))
	require.Empty(t, tests, "tests stay out of the build context")
	require.True(t, slices.ContainsFunc([]string{"go.work", "pkg/go.mod"}, func(p string) bool {
		_, err := os.Stat(filepath.Join(dst, p))
		return err == nil
	}))
	return dst
}

func copyFile(t testing.TB, src, dst string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(dst), 0o755))
	in, err := os.Open(src)
	require.NoError(t, err)
	defer in.Close()
	st, err := in.Stat()
	require.NoError(t, err)
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, st.Mode().Perm())
	require.NoError(t, err)
	_, err = io.Copy(out, in)
	require.NoError(t, err)
	require.NoError(t, out.Close())
}
