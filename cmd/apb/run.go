package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
	dockerruntime "github.com/openstack-service-broker/openstack-service-broker/pkg/runtime/docker"
)

// localRegistry is the registry name local runs give a bundle, as the
// broker's local registry does: its catalog name is local-<name>.
const localRegistry = "local"

// cloudsSource is the mount source name of the clouds.yaml of a local run.
const cloudsSource = "apb-run-clouds"

type runFlags struct {
	img       imageFlags
	pf        paramFlags
	plan      string
	instance  string
	binding   string
	clouds    string
	cloud     string
	namespace string
	network   string
	timeout   time.Duration
	build     bool
	keep      bool
}

func (f *runFlags) register(cmd *cobra.Command) {
	f.img.register(cmd, "the bundle image to run")
	f.pf.register(cmd.Flags())
	cmd.Flags().StringVarP(&f.plan, "plan", "P", "", "plan (default: the only plan, or \"default\")")
	cmd.Flags().StringVar(&f.instance, "instance", "", "instance id (provision: a new UUID; later actions: the bundle's only recorded local instance)")
	cmd.Flags().StringVar(&f.binding, "binding", "", "binding id (bind: a new UUID; unbind: the instance's only recorded binding)")
	cmd.Flags().StringVar(&f.clouds, "clouds", "", "a clouds.yaml to mount instead of starting the OpenStack emulator")
	cmd.Flags().StringVar(&f.cloud, "cloud", "", "OS_CLOUD: the cloud of clouds.yaml to use (default: emulator, or the only one)")
	cmd.Flags().StringVarP(&f.namespace, "namespace", "n", "default", "the namespace extra var (the target a broker would pass)")
	cmd.Flags().StringVar(&f.network, "network", dockerruntime.NetworkHost, "the container's network (host: it reaches the emulator and the host's loopback services)")
	cmd.Flags().DurationVar(&f.timeout, "timeout", time.Hour, "stop the action after this long")
	cmd.Flags().BoolVar(&f.build, "build", false, "apb build first")
	cmd.Flags().BoolVar(&f.keep, "keep", false, "keep the container and its directory afterwards (to inspect them)")
}

func (c *cli) runCmd() *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run ACTION [DIR]",
		Short: "Run one action of a bundle on the local Docker engine, no broker or cluster needed",
		Long: `Run one action (provision, update, deprovision, bind, unbind, test) of the bundle in DIR
(default .) on the local Docker engine, as the broker's Docker runtime runs it: the same
arguments, extra vars, environment and mounts; the playbook's output streamed live.

OpenStack bundles (tagged openstack, or with --clouds) get a clouds.yaml mounted and
OS_CLIENT_CONFIG_FILE/OS_CLOUD set: --clouds names one, else apb starts the OpenStack
emulator in-process for the run, its state kept between runs under
$XDG_STATE_HOME/apb/emulator.json so that bind and deprovision find what provision made.

Parameters come from -f and -p (typed by the plan's schema); required ones that are
missing are asked for on a terminal. apb remembers each local instance (its parameters,
the credentials provision and bind returned), so that later actions get
_apb_provision_creds and _apb_bind_creds as from a broker. bind prints the credentials.`,
		Args:      args(cobra.RangeArgs(1, 2)),
		ValidArgs: []string{"provision", "update", "deprovision", "bind", "unbind", "test"},
		RunE: func(cmd *cobra.Command, a []string) error {
			dir := "."
			if len(a) == 2 {
				dir = a[1]
			}
			res, err := c.runLocal(cmd.Context(), a[0], dir, f)
			if err != nil {
				return err
			}
			return c.printer().print(res, func(w io.Writer) { localTable(w, res) })
		},
	}
	f.register(cmd)
	return cmd
}

func (c *cli) testCmd() *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "test [DIR]",
		Short: "Run the bundle's test action locally and report what it recorded (exit 1 on a failure)",
		Long: `Run the bundle's test playbook on the local Docker engine (as apb run test) and report
the results it recorded with asb_save_test_result: exit 0 when every record passed, 1 when
one failed or the playbook did. Without a test playbook it fails saying so.`,
		Args: args(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			dir := "."
			if len(a) == 1 {
				dir = a[0]
			}
			res, err := c.runLocal(cmd.Context(), runtime.ActionTest, dir, f)
			if err != nil {
				return err
			}
			if perr := c.printer().print(res, func(w io.Writer) { localTable(w, res) }); perr != nil {
				return perr
			}
			if res.Test != nil && res.Test.Failed {
				return failedErrorf("test failed: %s", strings.Join(res.Test.Messages, "; "))
			}
			return nil
		},
	}
	f.register(cmd)
	return cmd
}

// localResult is what a local action produced, as printed with -o.
type localResult struct {
	Action       string         `json:"action"`
	Bundle       string         `json:"bundle"`
	Image        string         `json:"image"`
	InstanceID   string         `json:"instance_id"`
	BindingID    string         `json:"binding_id,omitempty"`
	Plan         string         `json:"plan"`
	State        string         `json:"state"`
	Description  string         `json:"description,omitempty"`
	DashboardURL string         `json:"dashboard_url,omitempty"`
	Credentials  map[string]any `json:"credentials,omitempty"`
	Test         *testResult    `json:"test,omitempty"`
	Cloud        string         `json:"cloud,omitempty"`
	Duration     string         `json:"duration"`
}

func localTable(w io.Writer, r *localResult) {
	row(w, "ACTION", r.Action)
	row(w, "BUNDLE", r.Bundle)
	row(w, "INSTANCE", r.InstanceID)
	if r.BindingID != "" {
		row(w, "BINDING", r.BindingID)
	}
	row(w, "PLAN", r.Plan)
	row(w, "STATE", r.State)
	if r.Description != "" {
		row(w, "DESCRIPTION", r.Description)
	}
	if r.DashboardURL != "" {
		row(w, "DASHBOARD", r.DashboardURL)
	}
	if r.Cloud != "" {
		row(w, "CLOUD", r.Cloud)
	}
	row(w, "DURATION", r.Duration)
	if r.Test != nil {
		outcome := "passed"
		if r.Test.Failed {
			outcome = "FAILED"
		}
		row(w, "TEST", outcome)
		for _, m := range r.Test.Messages {
			row(w, "  -", m)
		}
	}
	if len(r.Credentials) > 0 {
		row(w, "CREDENTIALS")
		keys := make([]string, 0, len(r.Credentials))
		for k := range r.Credentials {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			row(w, "  "+k, show(r.Credentials[k]))
		}
	}
}

// testResult is what a test action recorded (asb_save_test_result).
type testResult struct {
	Failed   bool     `json:"failed"`
	Messages []string `json:"messages"`
}

// localInstance is what apb remembers of an instance it ran locally.
type localInstance struct {
	Plan           string                  `json:"plan"`
	Parameters     map[string]any          `json:"parameters,omitempty"`
	ProvisionCreds map[string]any          `json:"provision_credentials,omitempty"`
	Bindings       map[string]localBinding `json:"bindings,omitempty"`
	Created        time.Time               `json:"created"`
}

type localBinding struct {
	Parameters  map[string]any `json:"parameters,omitempty"`
	Credentials map[string]any `json:"credentials,omitempty"`
}

type localState struct {
	Instances map[string]*localInstance `json:"instances"`
}

func (c *cli) localStatePath(bundle string) string {
	return filepath.Join(stateDir(c.getenv), "local", bundle+".json")
}

func readLocalState(p string) (*localState, error) {
	st := &localState{Instances: map[string]*localInstance{}}
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("%s: %w (move it away to start afresh)", p, err)
	}
	if st.Instances == nil {
		st.Instances = map[string]*localInstance{}
	}
	return st, nil
}

func writeLocalState(p string, st *localState) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// pickInstance chooses the instance an action acts on.
func pickInstance(st *localState, action, given, bundle string) (string, *localInstance, error) {
	if action == runtime.ActionProvision || action == runtime.ActionTest {
		id := given
		if id == "" {
			id = newID()
		}
		return id, st.Instances[id], nil
	}
	if given != "" {
		if in := st.Instances[given]; in != nil {
			return given, in, nil
		}
		// Run on an instance it never provisioned, the bundle would act
		// without the provision's credentials: on the wrong resource, or
		// on none, and say so only in the playbook's terms.
		return "", nil, usageErrorf("--instance %s: no local instance of %s by that id (%s)", given, bundle, knownInstances(st))
	}
	switch len(st.Instances) {
	case 0:
		return "", nil, usageErrorf("no local instance of %s: run apb run provision first, or give --instance", bundle)
	case 1:
		for id, in := range st.Instances {
			return id, in, nil
		}
	}
	return "", nil, usageErrorf("%s has %d local instances (%s): choose one with --instance", bundle, len(st.Instances), knownInstances(st))
}

// knownInstances lists the recorded local instances for a message.
func knownInstances(st *localState) string {
	if len(st.Instances) == 0 {
		return "none recorded: run apb run provision first"
	}
	return "recorded: " + strings.Join(slices.Sorted(maps.Keys(st.Instances)), ", ")
}

func pickBinding(in *localInstance, action, given string) (string, error) {
	if action == runtime.ActionBind {
		if given != "" {
			return given, nil
		}
		return newID(), nil
	}
	if given != "" {
		return given, nil
	}
	if in == nil || len(in.Bindings) == 0 {
		return "", usageErrorf("the instance has no local binding: run apb run bind first, or give --binding")
	}
	if len(in.Bindings) > 1 {
		ids := make([]string, 0, len(in.Bindings))
		for id := range in.Bindings {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		return "", usageErrorf("the instance has %d bindings (%s): choose one with --binding", len(ids), strings.Join(ids, ", "))
	}
	for id := range in.Bindings {
		return id, nil
	}
	return "", nil
}

// runLocal runs one action of the bundle in dir on the Docker engine.
func (c *cli) runLocal(ctx context.Context, action, dir string, f runFlags) (*localResult, error) {
	switch action {
	case runtime.ActionProvision, runtime.ActionUpdate, runtime.ActionDeprovision, runtime.ActionBind, runtime.ActionUnbind, runtime.ActionTest:
	default:
		return nil, usageErrorf("action %q: want provision, update, deprovision, bind, unbind or test", action)
	}
	spec, _, err := bundleSpec(dir)
	if err != nil {
		return nil, err
	}
	if f.build {
		if _, err := c.build(ctx, dir, "", "host", false, f.img); err != nil {
			return nil, err
		}
	}
	image := f.img.image(spec)
	spec.Finish(localRegistry, image)
	svc, err := apb.ToService(spec, apb.ConvertOptions{LaunchAPBOnBind: true})
	if err != nil {
		return nil, failedErrorf("%v", err)
	}

	statePath := c.localStatePath(spec.Name)
	st, err := readLocalState(statePath)
	if err != nil {
		return nil, err
	}
	id, in, err := pickInstance(st, action, f.instance, spec.Name)
	if err != nil {
		return nil, err
	}
	planName := f.plan
	if planName == "" && in != nil {
		planName = in.Plan
	}
	pl, err := findPlan(&svc, planName)
	if err != nil {
		return nil, err
	}
	// Parameters, by the schema the broker would check them with.
	var which string
	switch action {
	case runtime.ActionProvision, runtime.ActionTest:
		which = "create"
	case runtime.ActionUpdate:
		which = "update"
	case runtime.ActionBind:
		which = "bind"
	}
	pr := newProps(planSchema(pl, which))
	params, err := f.pf.values(pr)
	if err != nil {
		return nil, err
	}
	if which != "" {
		if which != "update" {
			if err := newPrompter(c.io.in, c.io.err).complete(pr, params); err != nil {
				return nil, err
			}
		}
		if err := pr.validate(params); err != nil {
			return nil, err
		}
	}
	bindingID := ""
	if action == runtime.ActionBind || action == runtime.ActionUnbind {
		if bindingID, err = pickBinding(in, action, f.binding); err != nil {
			return nil, err
		}
	}
	vars := extraVars(action, spec, pl, id, bindingID, f.namespace, params, in)

	cl, err := c.engine(ctx)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	if _, err := cl.ImageInspect(ctx, image); err != nil {
		if cerrdefs.IsNotFound(err) {
			return nil, failedErrorf("the image %s is not on the Docker engine: run apb build (or give --build, or --tag)", image)
		}
		return nil, engineErr(cl, err)
	}

	cfg := dockerruntime.Config{
		BrokerID: "apb-run", Network: f.network, PullPolicy: dockerruntime.PullNever, KeepContainer: f.keep,
		Timeout: f.timeout, Sources: map[string]string{},
		Output: func(_, line string) { fmt.Fprintln(c.io.err, line) },
	}
	a := runtime.Action{
		Name: action, OperationID: newID(), Image: image, Runtime: spec.Runtime, FQName: spec.FQName,
		InstanceID: id, BindingID: bindingID, Target: f.namespace, ExtraVars: vars,
	}
	res := &localResult{Action: action, Bundle: spec.Name, Image: image, InstanceID: id, BindingID: bindingID, Plan: pl.Name}
	wantsCloud := f.clouds != "" || c.s.clouds != "" || hasTag(spec, "openstack")
	if wantsCloud {
		mount, cloud, cleanup, err := c.cloudsMount(ctx, f)
		if err != nil {
			return nil, err
		}
		defer cleanup()
		cfg.Sources[cloudsSource] = mount.dir
		a.Mounts = append(a.Mounts, mount.m)
		res.Cloud = cloud
	}
	rt, err := dockerruntime.New(cfg, cl, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, usageErrorf("%v", err)
	}

	c.say("==> %s %s (instance %s) with %s", action, spec.Name, id, image)
	start := time.Now()
	result, runErr := rt.Run(ctx, a, func(d string) { c.say("==> %s", d) })
	// Nothing stays running: on success, failure or Ctrl-C alike.
	if err := rt.Release(context.WithoutCancel(ctx), a, runErr != nil); err != nil {
		c.warn(fmt.Sprintf("removing the container: %v", err))
	}
	res.Duration = time.Since(start).Round(100 * time.Millisecond).String()
	if errors.Is(runErr, runtime.ErrActionNotFound) {
		return nil, failedErrorf("%s does not implement %s (no playbooks/%s.yml in the image)", spec.Name, action, action)
	}
	if runErr != nil {
		if ctx.Err() != nil {
			return nil, withCode(exitInterrupted, fmt.Errorf("interrupted: the container was removed"))
		}
		var ae *runtime.ActionError
		if errors.As(runErr, &ae) {
			return nil, failedErrorf("%s", ae.Message)
		}
		if strings.Contains(runErr.Error(), "does not answer") {
			return nil, withCode(exitUnreachable, runErr)
		}
		return nil, failedErrorf("%s failed: %v", action, runErr)
	}
	res.State = osbapi.StateSucceeded
	res.Description = result.LastDescription
	res.DashboardURL = result.DashboardURL
	res.Credentials = result.Credentials
	if t := result.Test; t != nil {
		res.Test = &testResult{Failed: t.Failed, Messages: t.Messages}
	}

	// Remember what later actions need, as the broker stores it.
	switch action {
	case runtime.ActionProvision:
		st.Instances[id] = &localInstance{Plan: pl.Name, Parameters: params, ProvisionCreds: result.Credentials, Created: c.now().UTC()}
	case runtime.ActionUpdate:
		if in == nil {
			in = &localInstance{Created: c.now().UTC()}
			st.Instances[id] = in
		}
		in.Plan = pl.Name
		if in.Parameters == nil {
			in.Parameters = map[string]any{}
		}
		maps.Copy(in.Parameters, params)
		if result.Credentials != nil {
			in.ProvisionCreds = result.Credentials
		}
	case runtime.ActionDeprovision:
		delete(st.Instances, id)
	case runtime.ActionBind:
		if in == nil {
			in = &localInstance{Plan: pl.Name, Created: c.now().UTC()}
			st.Instances[id] = in
		}
		if in.Bindings == nil {
			in.Bindings = map[string]localBinding{}
		}
		creds := result.Credentials
		if creds == nil {
			// No bind playbook output: a broker hands out the provision's.
			creds = in.ProvisionCreds
			res.Credentials = creds
		}
		in.Bindings[bindingID] = localBinding{Parameters: params, Credentials: creds}
	case runtime.ActionUnbind:
		if in != nil {
			delete(in.Bindings, bindingID)
		}
	}
	if action != runtime.ActionTest {
		if err := writeLocalState(statePath, st); err != nil {
			c.warn(fmt.Sprintf("remembering the instance: %v", err))
		}
	}
	return res, nil
}

func hasTag(s *apb.Spec, tag string) bool {
	for _, t := range s.Tags {
		if strings.EqualFold(t, tag) {
			return true
		}
	}
	return false
}

// extraVars are the broker's extra vars for an action (see pkg/broker).
func extraVars(action string, spec *apb.Spec, pl *osbapi.Plan, id, bindingID, namespace string, params map[string]any, in *localInstance) map[string]any {
	vars := map[string]any{}
	if in != nil && action != runtime.ActionProvision {
		maps.Copy(vars, in.Parameters)
	}
	maps.Copy(vars, params)
	vars["_apb_plan_id"] = pl.Name
	vars["_apb_service_class_id"] = spec.ID
	vars["_apb_service_instance_id"] = id
	vars["_apb_last_requesting_user"] = requestingUser()
	vars["namespace"] = namespace
	vars["cluster"] = "kubernetes"
	if bindingID != "" {
		vars["_apb_service_binding_id"] = bindingID
	}
	if in != nil && action != runtime.ActionProvision && in.ProvisionCreds != nil {
		vars["_apb_provision_creds"] = in.ProvisionCreds
	}
	if action == runtime.ActionUnbind && in != nil {
		if b, ok := in.Bindings[bindingID]; ok && b.Credentials != nil {
			vars["_apb_bind_creds"] = b.Credentials
		}
	}
	return vars
}

type cloudsMountInfo struct {
	dir string
	m   runtime.Mount
}

// cloudsMount gives a local run its clouds.yaml: --clouds (or the config
// file's), else a clouds.yaml of an OpenStack emulator started here for
// the run. The file is copied into a private directory that the runtime
// copies again into the container's.
func (c *cli) cloudsMount(ctx context.Context, f runFlags) (cloudsMountInfo, string, func(), error) {
	dir, err := os.MkdirTemp("", "apb-run-clouds-")
	if err != nil {
		return cloudsMountInfo{}, "", nil, err
	}
	stops := []func(){func() { os.RemoveAll(dir) }}
	cleanup := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	fail := func(err error) (cloudsMountInfo, string, func(), error) {
		cleanup()
		return cloudsMountInfo{}, "", nil, err
	}
	cloudsFile := orDefault(f.clouds, c.s.clouds)
	cloud := orDefault(f.cloud, c.s.cloud)
	var data []byte
	if cloudsFile != "" {
		if data, err = os.ReadFile(cloudsFile); err != nil {
			return fail(usageErrorf("--clouds: %v", err))
		}
		if sec, err := os.ReadFile(filepath.Join(filepath.Dir(cloudsFile), "secure.yaml")); err == nil {
			if err := os.WriteFile(filepath.Join(dir, "secure.yaml"), sec, 0o600); err != nil {
				return fail(err)
			}
		}
		c.say("==> OpenStack: %s", cloudsFile)
	} else {
		emuState := filepath.Join(stateDir(c.getenv), "emulator.json")
		if err := os.MkdirAll(filepath.Dir(emuState), 0o700); err != nil {
			return fail(err)
		}
		emuCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
		cloudEmu, err := emulator.Start(emuCtx, emulator.Options{Listen: "127.0.0.1:0", StateFile: emuState})
		if err != nil {
			stop()
			return fail(fmt.Errorf("starting the OpenStack emulator: %w", err))
		}
		stops = append(stops, func() {
			if err := cloudEmu.Close(); err != nil {
				c.warn(fmt.Sprintf("stopping the OpenStack emulator: %v", err))
			}
			stop()
		})
		data = cloudEmu.CloudsYAML()
		if cloud == "" {
			cloud = "emulator"
		}
		c.say("==> OpenStack: the emulator at %s (state %s)", cloudEmu.AuthURL(), emuState)
	}
	if err := os.WriteFile(filepath.Join(dir, "clouds.yaml"), data, 0o600); err != nil {
		return fail(err)
	}
	if cloud, err = pickCloud(data, cloud, c.getenv("OS_CLOUD")); err != nil {
		return fail(err)
	}
	mountPath := apb.SecretsDir + "/apb-" + cloudsSource
	m := runtime.Mount{Source: cloudsSource, Path: mountPath, Env: func(files map[string][]byte) []runtime.EnvVar {
		env := []runtime.EnvVar{{Name: "OS_CLIENT_CONFIG_FILE", Value: mountPath + "/clouds.yaml"}}
		if cloud != "" {
			env = append(env, runtime.EnvVar{Name: "OS_CLOUD", Value: cloud})
		}
		if _, ok := files["secure.yaml"]; ok {
			env = append(env, runtime.EnvVar{Name: "OS_CLIENT_SECURE_FILE", Value: mountPath + "/secure.yaml"})
		}
		return env
	}}
	return cloudsMountInfo{dir: dir, m: m}, cloud, cleanup, nil
}

// pickCloud is the cloud of clouds.yaml (data) a run uses: the one asked
// for (--cloud or the config file's), else $OS_CLOUD as the openstack CLI
// reads it, else the only cloud there. Several clouds and none chosen is a
// usage error naming them: a guess could act on the wrong project.
func pickCloud(data []byte, asked, env string) (string, error) {
	var doc struct {
		Clouds map[string]any `yaml:"clouds"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return "", usageErrorf("--clouds: not a clouds.yaml: %v", err)
	}
	names := slices.Sorted(maps.Keys(doc.Clouds))
	if len(names) == 0 {
		return "", usageErrorf("--clouds: the file has no clouds: entry")
	}
	name := cmp.Or(asked, env)
	switch {
	case name != "" && !slices.Contains(names, name):
		return "", usageErrorf("--cloud %s: no such cloud in clouds.yaml (it has %s)", name, strings.Join(names, ", "))
	case name != "":
		return name, nil
	case len(names) == 1:
		return names[0], nil
	}
	return "", usageErrorf("clouds.yaml has %d clouds (%s): choose one with --cloud (or OS_CLOUD)", len(names), strings.Join(names, ", "))
}
