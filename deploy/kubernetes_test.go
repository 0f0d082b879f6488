package deploy

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"rollcall.dev/pkg/platform"
	rcserver "rollcall.dev/pkg/server"
)

// manifests holds every object of deploy/kubernetes, decoded strictly into
// Kubernetes' own API types (an unknown or misspelt field fails).
type manifests struct {
	files        []string
	namespaces   map[string]*corev1.Namespace
	configMaps   map[string]*corev1.ConfigMap
	secrets      map[string]*corev1.Secret
	services     map[string]*corev1.Service
	deployments  map[string]*appsv1.Deployment
	statefulSets map[string]*appsv1.StatefulSet
	pdbs         map[string]*policyv1.PodDisruptionBudget
	kustomize    kustomization
}

type kustomization struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace"`
	Labels     []struct {
		Pairs            map[string]string `json:"pairs"`
		IncludeSelectors bool              `json:"includeSelectors"`
	} `json:"labels"`
	Resources []string `json:"resources"`
	Images    []struct {
		Name   string `json:"name"`
		NewTag string `json:"newTag"`
	} `json:"images"`
}

func loadManifests(t testing.TB) manifests {
	t.Helper()
	dir := filepath.Join(root(t), "deploy", "kubernetes")
	m := manifests{
		namespaces: map[string]*corev1.Namespace{}, configMaps: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{},
		services: map[string]*corev1.Service{}, deployments: map[string]*appsv1.Deployment{}, statefulSets: map[string]*appsv1.StatefulSet{},
		pdbs: map[string]*policyv1.PodDisruptionBudget{},
	}
	paths, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	for _, path := range paths {
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		name := filepath.Base(path)
		if name == "kustomization.yaml" {
			require.NoError(t, yaml.UnmarshalStrict(b, &m.kustomize), name)
			continue
		}
		m.files = append(m.files, name)
		for i, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(b), -1) {
			if strings.TrimSpace(stripComments(doc)) == "" {
				continue
			}
			var tm metav1.TypeMeta
			require.NoError(t, yaml.Unmarshal([]byte(doc), &tm), "%s document %d", name, i+1)
			var obj interface{ GetName() string }
			switch tm.APIVersion + "/" + tm.Kind {
			case "v1/Namespace":
				o := &corev1.Namespace{}
				obj, m.namespaces = o, put(t, m.namespaces, o, doc, name)
			case "v1/ConfigMap":
				o := &corev1.ConfigMap{}
				obj, m.configMaps = o, put(t, m.configMaps, o, doc, name)
			case "v1/Secret":
				o := &corev1.Secret{}
				obj, m.secrets = o, put(t, m.secrets, o, doc, name)
			case "v1/Service":
				o := &corev1.Service{}
				obj, m.services = o, put(t, m.services, o, doc, name)
			case "apps/v1/Deployment":
				o := &appsv1.Deployment{}
				obj, m.deployments = o, put(t, m.deployments, o, doc, name)
			case "apps/v1/StatefulSet":
				o := &appsv1.StatefulSet{}
				obj, m.statefulSets = o, put(t, m.statefulSets, o, doc, name)
			case "policy/v1/PodDisruptionBudget":
				o := &policyv1.PodDisruptionBudget{}
				obj, m.pdbs = o, put(t, m.pdbs, o, doc, name)
			default:
				t.Fatalf("%s document %d: %s %s is not a kind these tests check", name, i+1, tm.APIVersion, tm.Kind)
			}
			require.NotEmpty(t, obj.GetName(), "%s document %d has no name", name, i+1)
		}
	}
	return m
}

func put[T interface{ GetName() string }](t testing.TB, into map[string]T, o T, doc, file string) map[string]T {
	t.Helper()
	require.NoError(t, yaml.UnmarshalStrict([]byte(doc), o), file)
	_, dup := into[o.GetName()]
	require.False(t, dup, "%s: two objects named %s", file, o.GetName())
	into[o.GetName()] = o
	return into
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, l := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// placeholder marks every committed secret value: nothing real is in git.
var placeholder = regexp.MustCompile(`REPLACE_ME[A-Za-z0-9_]*`)

// fillPlaceholders stands a fresh secret in for each placeholder: 32
// random bytes, in base64 where the placeholder says BASE64, else in hex.
func fillPlaceholders(t testing.TB, v string) string {
	return placeholder.ReplaceAllStringFunc(v, func(p string) string {
		var raw [32]byte
		_, err := rand.Read(raw[:])
		require.NoError(t, err)
		if strings.Contains(p, "BASE64") {
			return base64.StdEncoding.EncodeToString(raw[:])
		}
		return hex.EncodeToString(raw[:])
	})
}

func TestKubernetesManifestsParse(t *testing.T) {
	t.Parallel()
	m := loadManifests(t)
	k := m.kustomize
	require.Equal(t, "Kustomization", k.Kind)
	require.Equal(t, "rollcall", k.Namespace)
	sort.Strings(m.files)
	res := slices.Clone(k.Resources)
	sort.Strings(res)
	require.Equal(t, m.files, res, "kustomization.yaml lists every manifest")
	require.Contains(t, m.namespaces, "rollcall")
	var images []string
	for _, img := range k.Images {
		images = append(images, img.Name)
		require.NotEmpty(t, img.NewTag)
	}
	for _, svc := range appServices {
		require.Contains(t, images, "rollcall/"+svc.name, "kustomization sets the tag of %s", svc.name)
	}
}

// Each service: its Deployment runs the Dockerfile target of its name,
// configured only with real keys of its Config (every required one set,
// secrets only in its Secret, as placeholders), with startup, readiness and
// liveness probes on the paths pkg/server serves, resources, a grace
// period longer than its shutdown, non-root; a Service and a disruption
// budget.
func TestKubernetesServices(t *testing.T) {
	t.Parallel()
	m := loadManifests(t)
	d := parseDockerfile(t)
	compose := composeProject(t)
	secretValues := generatedEnv(t)
	for k, v := range exampleEnv(t) {
		if v != "" {
			delete(secretValues, k) // settings, not secrets
		}
	}
	platformKeys := envKeys(t, platform.Config{})
	runtimeKeys := []string{"GOMEMLIMIT", "GOMAXPROCS"}

	for _, svc := range appServices {
		t.Run(svc.name, func(t *testing.T) {
			t.Parallel()
			dep, ok := m.deployments[svc.name]
			require.True(t, ok, "Deployment %s", svc.name)
			spec := dep.Spec.Template.Spec
			require.Len(t, spec.Containers, 1)
			c := spec.Containers[0]

			// The image of the Dockerfile target.
			repo, tag, ok := strings.Cut(c.Image, ":")
			require.True(t, ok, "%s: image with a tag", svc.name)
			require.NotEmpty(t, tag)
			require.Equal(t, "rollcall/"+svc.name, repo)
			_, isStage := d.stage(svc.name)
			require.True(t, isStage, "the Dockerfile has target %s", svc.name)

			// Configuration: ConfigMap, Secret and env, merged.
			env := map[string]string{}
			var cm *corev1.ConfigMap
			var sec *corev1.Secret
			for _, ef := range c.EnvFrom {
				switch {
				case ef.ConfigMapRef != nil:
					cm = m.configMaps[ef.ConfigMapRef.Name]
					require.NotNil(t, cm, "ConfigMap %s", ef.ConfigMapRef.Name)
					for k, v := range cm.Data {
						env[k] = v
					}
				case ef.SecretRef != nil:
					sec = m.secrets[ef.SecretRef.Name]
					require.NotNil(t, sec, "Secret %s", ef.SecretRef.Name)
					for k, v := range sec.StringData {
						_, dup := env[k]
						require.False(t, dup, "%s is both in the ConfigMap and the Secret", k)
						require.Regexp(t, placeholder, v, "Secret %s: %s must be a placeholder, never a real value", sec.Name, k)
						env[k] = v
					}
					require.Empty(t, sec.Data, "Secret %s: stringData placeholders only", sec.Name)
				}
			}
			require.NotNil(t, cm)
			require.NotNil(t, sec)
			for _, e := range c.Env {
				require.Contains(t, runtimeKeys, e.Name, "%s: env %s", svc.name, e.Name)
			}
			own := envKeys(t, svc.config())
			for k := range env {
				_, inPlatform := platformKeys[k]
				_, inOwn := own[k]
				require.True(t, inPlatform || inOwn, "%s: %s is not a configuration key of the service", svc.name, k)
			}
			for _, keys := range []map[string]envKey{platformKeys, own} {
				for k, spec := range keys {
					if spec.Required {
						require.Contains(t, env, k, "%s: required %s is not set", svc.name, k)
					}
				}
			}
			// What compose fills from a secret is in the Secret here.
			for k, v := range environment(t, compose.Services[svc.name]) {
				for _, s := range secretValues {
					if strings.Contains(v, s) {
						require.Contains(t, sec.StringData, k, "%s: %s is a secret", svc.name, k)
					}
				}
			}
			for k, v := range cm.Data {
				require.NotRegexp(t, placeholder, v, "ConfigMap %s: %s", cm.Name, k)
			}
			// With secrets in place, the configuration is valid.
			filled := map[string]string{}
			for k, v := range env {
				filled[k] = fillPlaceholders(t, v)
			}
			ctx := context.Background()
			require.NoError(t, loadConfig(ctx, &platformConfig{}, filled), "platform config of %s", svc.name)
			require.NoError(t, loadConfig(ctx, svc.config(), filled), "config of %s", svc.name)

			// NATS: its own user, on the NATS Service.
			nu, err := url.Parse(env["NATS_URL"])
			require.NoError(t, err)
			require.Equal(t, svc.name, nu.User.Username())
			require.Equal(t, "nats", nu.Hostname())
			require.Equal(t, strconv.Itoa(int(m.services["nats"].Spec.Ports[0].Port)), nu.Port())
			// Other services by their Service name and port.
			for _, k := range []string{"IDENTITY_URL", "INTEGRATOR_POLICY_URL"} {
				if v, ok := env[k]; ok {
					u, err := url.Parse(v)
					require.NoError(t, err)
					target, ok := m.services[u.Hostname()]
					require.True(t, ok, "%s: %s names no Service", svc.name, k)
					require.Equal(t, u.Port(), strconv.Itoa(int(target.Spec.Ports[0].Port)))
				}
			}

			// Probes on the container's port (HTTP_ADDR).
			_, port, err := net.SplitHostPort(env["HTTP_ADDR"])
			require.NoError(t, err)
			require.Len(t, c.Ports, 1)
			require.Equal(t, port, strconv.Itoa(int(c.Ports[0].ContainerPort)))
			for name, p := range map[string]*corev1.Probe{"startup": c.StartupProbe, "readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
				require.NotNil(t, p, "%s: %s probe", svc.name, name)
				require.NotNil(t, p.HTTPGet, "%s: %s probe is an HTTP GET", svc.name, name)
				require.Equal(t, c.Ports[0].Name, p.HTTPGet.Port.String(), "%s: %s probe on the service's port", svc.name, name)
			}
			require.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path, "ready: Postgres and NATS answer")
			require.Equal(t, "/healthz", c.LivenessProbe.HTTPGet.Path, "alive: a dependency's outage must not restart it")
			require.Equal(t, "/healthz", c.StartupProbe.HTTPGet.Path)

			// Resources.
			for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				q, ok := c.Resources.Requests[r]
				require.True(t, ok && !q.IsZero(), "%s: requests.%s", svc.name, r)
			}
			limit, ok := c.Resources.Limits[corev1.ResourceMemory]
			require.True(t, ok && limit.Cmp(c.Resources.Requests[corev1.ResourceMemory]) >= 0, "%s: a memory limit at least the request", svc.name)

			// Shutdown fits in the grace period.
			shutdown, err := time.ParseDuration(env["SHUTDOWN_TIMEOUT"])
			require.NoError(t, err)
			require.NotNil(t, spec.TerminationGracePeriodSeconds)
			require.Greater(t, time.Duration(*spec.TerminationGracePeriodSeconds)*time.Second, shutdown, "%s: grace period > SHUTDOWN_TIMEOUT", svc.name)

			// Non-root, as the image.
			require.NotNil(t, spec.SecurityContext.RunAsNonRoot)
			require.True(t, *spec.SecurityContext.RunAsNonRoot)
			require.Equal(t, int64(65532), *spec.SecurityContext.RunAsUser, "the distroless nonroot user")
			require.NotNil(t, c.SecurityContext)
			require.False(t, *c.SecurityContext.AllowPrivilegeEscalation)
			require.True(t, *c.SecurityContext.ReadOnlyRootFilesystem)

			// Selected by its Service and its disruption budget.
			labels := dep.Spec.Template.Labels
			require.Equal(t, dep.Spec.Selector.MatchLabels, selectorSubset(dep.Spec.Selector.MatchLabels, labels))
			s, ok := m.services[svc.name]
			require.True(t, ok, "Service %s", svc.name)
			require.Equal(t, s.Spec.Selector, selectorSubset(s.Spec.Selector, labels), "Service %s selects the pods", svc.name)
			require.Equal(t, c.Ports[0].Name, s.Spec.Ports[0].TargetPort.String())
			pdb, ok := m.pdbs[svc.name]
			require.True(t, ok, "PodDisruptionBudget %s", svc.name)
			require.Equal(t, pdb.Spec.Selector.MatchLabels, selectorSubset(pdb.Spec.Selector.MatchLabels, labels))
			require.GreaterOrEqual(t, *dep.Spec.Replicas, int32(2), "%s: more than one replica", svc.name)

			// Streams replicated across the NATS cluster.
			require.Equal(t, strconv.Itoa(int(*m.statefulSets["nats"].Spec.Replicas)), env["STREAM_REPLICAS"])
		})
	}
}

func selectorSubset(selector, labels map[string]string) map[string]string {
	out := map[string]string{}
	for k := range selector {
		if v, ok := labels[k]; ok {
			out[k] = v
		}
	}
	return out
}

// The probe paths of the manifests are what pkg/server really serves:
// both answer 200 on a server whose readiness checks pass.
func TestKubernetesProbePathsAreServed(t *testing.T) {
	t.Parallel()
	m := loadManifests(t)
	paths := map[string]bool{}
	for _, dep := range m.deployments {
		for _, c := range dep.Spec.Template.Spec.Containers {
			for _, p := range []*corev1.Probe{c.StartupProbe, c.ReadinessProbe, c.LivenessProbe} {
				paths[p.HTTPGet.Path] = true
			}
		}
	}
	require.NotEmpty(t, paths)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := rcserver.New(rcserver.Config{Addr: "127.0.0.1:0"}, log, nil, nil,
		[]rcserver.Check{{Name: "ok", Fn: func(context.Context) error { return nil }}})
	require.NoError(t, err)
	require.NoError(t, srv.Listen())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	for p := range paths {
		resp, err := http.Get("http://" + srv.Addr() + p)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, "GET %s", p)
	}
}

// NATS in Kubernetes: a 3-node JetStream cluster whose routes name its own
// pods, the same users and permissions as deploy/nats/nats.conf, passwords
// from its Secret, probes and resources.
//
// Not parallel: the config files read their passwords from the environment.
func TestKubernetesNATS(t *testing.T) {
	m := loadManifests(t)
	env := generatedEnv(t)
	compose := natsOptions(t, env)
	t.Setenv("POD_NAME", "nats-0")

	ss, ok := m.statefulSets["nats"]
	require.True(t, ok)
	require.Equal(t, int32(3), *ss.Spec.Replicas, "3 servers: streams with 3 replicas survive losing one")
	cm := m.configMaps["nats-config"]
	require.NotNil(t, cm)
	path := filepath.Join(t.TempDir(), "nats.conf")
	require.NoError(t, os.WriteFile(path, []byte(cm.Data["nats.conf"]), 0o600))
	opts, err := server.ProcessConfigFile(path)
	require.NoError(t, err)
	require.True(t, opts.JetStream)
	require.Equal(t, "nats-0", opts.ServerName, "each server is named after its pod")
	require.Equal(t, "/data/jetstream", opts.StoreDir)
	require.Len(t, opts.Routes, int(*ss.Spec.Replicas))
	headless := m.services[ss.Spec.ServiceName]
	require.NotNil(t, headless)
	require.Equal(t, corev1.ClusterIPNone, headless.Spec.ClusterIP)
	for i, r := range opts.Routes {
		require.Equal(t, fmt.Sprintf("nats-%d.%s.%s.svc.cluster.local", i, ss.Spec.ServiceName, m.kustomize.Namespace), r.Hostname())
		require.Equal(t, strconv.Itoa(opts.Cluster.Port), r.Port())
	}
	// No loss: every event on 3 servers (STREAM_REPLICAS=3, checked per
	// service), or fsync on every write.
	require.True(t, opts.SyncAlways || *ss.Spec.Replicas >= 3)

	// The same users, the same permissions, as the compose file's (which
	// the NATS tests check against the code and a running stack).
	require.Equal(t, len(compose.Users), len(opts.Users))
	want := usersByName(compose)
	for _, u := range opts.Users {
		w, ok := want[u.Username]
		require.True(t, ok, "user %s", u.Username)
		require.True(t, reflect.DeepEqual(w.Permissions, u.Permissions), "user %s has the permissions of deploy/nats/nats.conf", u.Username)
	}
	// Passwords from the nats-users Secret, one per user.
	secret := m.secrets["nats-users"]
	require.NotNil(t, secret)
	c := ss.Spec.Template.Spec.Containers[0]
	var fromSecret []string
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			require.Equal(t, secret.Name, e.ValueFrom.SecretKeyRef.Name)
			require.Contains(t, secret.StringData, e.ValueFrom.SecretKeyRef.Key)
			fromSecret = append(fromSecret, e.Name)
		}
	}
	for _, u := range opts.Users {
		require.Contains(t, fromSecret, natsPasswordVar(u.Username))
		require.Regexp(t, placeholder, secret.StringData[natsPasswordVar(u.Username)])
	}
	for _, p := range []*corev1.Probe{c.StartupProbe, c.ReadinessProbe, c.LivenessProbe} {
		require.NotNil(t, p)
		require.Equal(t, "monitor", p.HTTPGet.Port.String())
	}
	require.Equal(t, strconv.Itoa(opts.HTTPPort), containerPort(c, "monitor"))
	require.Equal(t, strconv.Itoa(opts.Port), containerPort(c, "client"))
	require.Equal(t, strconv.Itoa(opts.Cluster.Port), containerPort(c, "cluster"))
	_, ok = c.Resources.Requests[corev1.ResourceMemory]
	require.True(t, ok)
	require.Len(t, ss.Spec.VolumeClaimTemplates, 1, "each server keeps its store on its own volume")
	require.Contains(t, m.pdbs, "nats")
	// The image is the server version the tests embed (pkg pins it).
	require.Equal(t, "nats:"+server.VERSION+"-alpine", c.Image)
}

func containerPort(c corev1.Container, name string) string {
	for _, p := range c.Ports {
		if p.Name == name {
			return strconv.Itoa(int(p.ContainerPort))
		}
	}
	return ""
}
