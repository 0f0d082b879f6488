package deploy

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	promql "github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/require"
)

// metricDef is one metric as the code declares it.
type metricDef struct {
	kind   string // counter, gauge, histogram, summary
	labels []string
	where  string
}

// codeMetrics collects every Prometheus metric declared in pkg/ and
// services/: the Name of each prometheus.{Counter,Gauge,Histogram,Summary}Opts
// literal passed to a constructor, with the label names that follow it.
func codeMetrics(t testing.TB) map[string]metricDef {
	t.Helper()
	out := map[string]metricDef{}
	fset := token.NewFileSet()
	for _, dir := range []string{"pkg", "services"} {
		err := filepath.WalkDir(filepath.Join(root(t), dir), func(path string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok || len(call.Args) == 0 {
					return true
				}
				lit, ok := call.Args[0].(*ast.CompositeLit)
				if !ok {
					return true
				}
				sel, ok := lit.Type.(*ast.SelectorExpr)
				if !ok || !strings.HasSuffix(sel.Sel.Name, "Opts") {
					return true
				}
				kind := strings.ToLower(strings.TrimSuffix(sel.Sel.Name, "Opts"))
				if !slices.Contains([]string{"counter", "gauge", "histogram", "summary"}, kind) {
					return true
				}
				parts := map[string]string{}
				for _, el := range lit.Elts {
					kv, ok := el.(*ast.KeyValueExpr)
					if !ok {
						continue
					}
					key := kv.Key.(*ast.Ident).Name
					if key != "Name" && key != "Namespace" && key != "Subsystem" {
						continue
					}
					s, ok := kv.Value.(*ast.BasicLit)
					require.True(t, ok && s.Kind == token.STRING, "%s: metric %s is not a string literal; teach this test to read it", fset.Position(kv.Pos()), key)
					parts[key], _ = strconv.Unquote(s.Value)
				}
				name := prometheus.BuildFQName(parts["Namespace"], parts["Subsystem"], parts["Name"])
				def := metricDef{kind: kind, where: fset.Position(call.Pos()).String()}
				if len(call.Args) > 1 {
					if ls, ok := call.Args[1].(*ast.CompositeLit); ok {
						for _, el := range ls.Elts {
							if s, ok := el.(*ast.BasicLit); ok && s.Kind == token.STRING {
								l, _ := strconv.Unquote(s.Value)
								def.labels = append(def.labels, l)
							}
						}
					}
				}
				prev, dup := out[name]
				require.False(t, dup, "metric %s declared twice (%s, %s)", name, prev.where, def.where)
				out[name] = def
				return true
			})
			return nil
		})
		require.NoError(t, err)
	}
	require.NotEmpty(t, out)
	return out
}

// runtimeMetrics are the series every service exports beside its own: the
// Go and process collectors of client_golang's default registry (gathered
// here, in a process of the same build), and Prometheus' own `up`.
func runtimeMetrics(t testing.TB) map[string]metricDef {
	t.Helper()
	out := map[string]metricDef{"up": {kind: "gauge"}}
	families, err := prometheus.DefaultGatherer.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), "go_") && !strings.HasPrefix(f.GetName(), "process_") {
			continue
		}
		def := metricDef{kind: strings.ToLower(f.GetType().String()), where: "client_golang default registry"}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if !slices.Contains(def.labels, l.GetName()) {
					def.labels = append(def.labels, l.GetName())
				}
			}
		}
		out[f.GetName()] = def
	}
	require.Contains(t, out, "go_goroutines")
	return out
}

// targetLabels are added by Prometheus (job, instance) or Kubernetes
// service discovery relabelling, not by the services.
var targetLabels = []string{"job", "instance", "namespace", "pod", "service"}

// resolveMetric maps a series name to its declaration: a histogram is
// queried as _bucket (with le), _sum and _count.
func resolveMetric(all map[string]metricDef, name string) (metricDef, []string, bool) {
	if d, ok := all[name]; ok {
		return d, d.labels, true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base, ok := strings.CutSuffix(name, suffix)
		if !ok {
			continue
		}
		d, ok := all[base]
		if !ok || (d.kind != "histogram" && d.kind != "summary") || (suffix == "_bucket" && d.kind != "histogram") {
			continue
		}
		if suffix == "_bucket" {
			return d, append(slices.Clone(d.labels), "le"), true
		}
		return d, d.labels, true
	}
	return metricDef{}, nil, false
}

type dashboardPanel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	GridPos struct {
		H, W, X, Y int
	} `json:"gridPos"`
	Targets []struct {
		Expr  string `json:"expr"`
		RefID string `json:"refId"`
	} `json:"targets"`
	Panels []dashboardPanel `json:"panels"`
}

// Every query of the dashboard parses as PromQL and names only metrics the
// code exports, with labels those metrics carry; the metrics the design
// asks for are all on it.
func TestGrafanaDashboard(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join(root(t), "deploy", "grafana", "rollcall.json"))
	require.NoError(t, err)
	var dash struct {
		Title      string           `json:"title"`
		UID        string           `json:"uid"`
		Schema     int              `json:"schemaVersion"`
		Panels     []dashboardPanel `json:"panels"`
		Templating struct {
			List []struct {
				Name, Type, Query string
			} `json:"list"`
		} `json:"templating"`
	}
	require.NoError(t, json.Unmarshal(b, &dash))
	require.Equal(t, "rollcall", dash.UID)
	require.Positive(t, dash.Schema)
	require.True(t, slices.ContainsFunc(dash.Templating.List, func(v struct{ Name, Type, Query string }) bool {
		return v.Name == "datasource" && v.Type == "datasource" && v.Query == "prometheus"
	}), "a Prometheus datasource variable")

	all := codeMetrics(t)
	for name, def := range runtimeMetrics(t) {
		all[name] = def
	}
	used := map[string]bool{}
	ids := map[int]bool{}
	p := promql.NewParser(promql.Options{})
	var panels []dashboardPanel
	for _, panel := range dash.Panels {
		panels = append(panels, panel)
		panels = append(panels, panel.Panels...)
	}
	for _, panel := range panels {
		require.False(t, ids[panel.ID], "panel id %d used twice", panel.ID)
		ids[panel.ID] = true
		require.LessOrEqual(t, panel.GridPos.X+panel.GridPos.W, 24, "panel %q is wider than the dashboard", panel.Title)
		if panel.Type == "row" {
			continue
		}
		require.NotEmpty(t, panel.Targets, "panel %q has no query", panel.Title)
		require.NotNil(t, panel.Datasource)
		require.Equal(t, "${datasource}", panel.Datasource.UID, "panel %q uses the datasource variable", panel.Title)
		for _, target := range panel.Targets {
			// Grafana's interval variables are durations to PromQL.
			expr := strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h").Replace(target.Expr)
			parsed, err := p.ParseExpr(expr)
			require.NoError(t, err, "panel %q: %s", panel.Title, target.Expr)
			var selectors int
			promql.Inspect(parsed, func(node promql.Node, _ []promql.Node) error {
				switch n := node.(type) {
				case *promql.VectorSelector:
					selectors++
					_, known, ok := resolveMetric(all, n.Name)
					require.True(t, ok, "panel %q queries %s, which no code exports", panel.Title, n.Name)
					used[n.Name] = true
					for _, m := range n.LabelMatchers {
						if m.Name == model.MetricNameLabel {
							continue
						}
						require.True(t, slices.Contains(known, m.Name) || slices.Contains(targetLabels, m.Name),
							"panel %q: %s has no label %s (it has %v)", panel.Title, n.Name, m.Name, known)
					}
				case *promql.AggregateExpr:
					var known []string
					promql.Inspect(n.Expr, func(inner promql.Node, _ []promql.Node) error {
						if vs, ok := inner.(*promql.VectorSelector); ok {
							_, ls, _ := resolveMetric(all, vs.Name)
							known = append(known, ls...)
						}
						return nil
					})
					for _, l := range n.Grouping {
						require.True(t, slices.Contains(known, l) || slices.Contains(targetLabels, l),
							"panel %q: grouping by %s, which none of its metrics carries", panel.Title, l)
					}
				}
				return nil
			})
			require.Positive(t, selectors, "panel %q: %s queries no metric", panel.Title, target.Expr)
		}
	}
	// The design's metrics: events published, consumed and dead-lettered,
	// handler latency, outbox lag, consumer pending, ERP call latency and
	// errors, HR -> ERP propagation latency; and issue 7's synchronisation
	// runs (runs finished by status, employees done or failed).
	for _, m := range []string{
		"rollcall_events_published_total", "rollcall_events_consumed_total", "rollcall_events_deadlettered_total",
		"rollcall_event_handler_duration_seconds_bucket", "rollcall_outbox_lag_seconds", "rollcall_consumer_pending_messages",
		"rollcall_erp_call_duration_seconds_bucket", "rollcall_erp_call_errors_total", "rollcall_sync_propagation_seconds_bucket",
		"rollcall_sync_runs_total", "rollcall_sync_run_items_total",
	} {
		require.True(t, used[m], "the dashboard shows %s", m)
	}
	// Metrics without a panel are not an error (a service may add one
	// before the dashboard shows it), but say so.
	for name, def := range all {
		shown := used[name] || used[name+"_bucket"] || used[name+"_count"] || used[name+"_sum"]
		if strings.HasPrefix(name, "rollcall_") && !shown {
			t.Logf("%s (%s) is on no panel of deploy/grafana/rollcall.json", name, def.where)
		}
	}
}

func TestResolveMetric(t *testing.T) {
	t.Parallel()
	all := map[string]metricDef{
		"a_seconds": {kind: "histogram", labels: []string{"x"}},
		"b_total":   {kind: "counter"},
	}
	for name, ok := range map[string]bool{"a_seconds_bucket": true, "a_seconds_sum": true, "a_seconds_count": true, "a_seconds": true, "b_total": true, "b_total_bucket": false, "c": false} {
		_, _, got := resolveMetric(all, name)
		require.Equal(t, ok, got, name)
	}
	_, ls, _ := resolveMetric(all, "a_seconds_bucket")
	require.Equal(t, []string{"x", "le"}, ls)
}
