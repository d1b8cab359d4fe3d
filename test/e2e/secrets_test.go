package e2e

// The canary test of secrets: values of the plan's password parameters,
// of parameters under secret-looking keys, and bundle credentials are
// sent through the real daemon at every log level, with output_request on
// and off, and must never show up in a log line, a last_operation
// description or an error body, whatever the bundle does with them.

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbapi"
	"github.com/openstack-service-broker/openstack-service-broker/pkg/runtime"
)

// vaultAPB declares password parameters under ordinary names (pin,
// magic_word) as well as under names that look secret.
const vaultAPB = `version: '1.0'
name: vault-apb
description: a bundle that holds secrets
bindable: true
async: optional
plans:
  - name: default
    description: the only plan
    free: true
    updates_to: []
    parameters:
      - name: db_passwd
        type: string
        display_type: password
        updatable: true
      - name: pin
        type: string
        display_type: password
        pattern: "^[0-9A-Za-z-]+$"
        updatable: true
      - name: pwd
        type: string
        display_type: password
      - name: magic_word
        type: string
        display_type: password
        updatable: true
      - name: api_token
        type: string
      - name: admin_credential
        type: string
      - name: note
        type: string
        updatable: true
      - name: leak
        type: string
        enum: ["", provision, update, "update!", deprovision]
        updatable: true
    bind_parameters:
      - name: bind_pwd
        type: string
        display_type: password
      - name: bind_leak
        type: string
        enum: ["", bind, "bind!"]
`

const vaultService = "local-vault-apb"

// vaultPlay is the bundle of vault-apb: it reports every extra var it got
// as its progress, and when leak (bind_leak) names the action it fails
// with all of them in the message (an ActionError), or in a plain error
// with "!".
func vaultPlay(ctx context.Context, a runtime.Action, progress runtime.Progress) (*runtime.Result, error) {
	vars, _ := json.Marshal(a.ExtraVars)
	progress("working with " + string(vars))
	select {
	case <-time.After(150 * time.Millisecond):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	leak, _ := a.ExtraVars["leak"].(string)
	if a.BindingID != "" {
		leak, _ = a.ExtraVars["bind_leak"].(string)
	}
	switch leak {
	case a.Name:
		return nil, &runtime.ActionError{ExitCode: 2, Message: "failed; my vars were " + string(vars)}
	case a.Name + "!":
		return nil, fmt.Errorf("exploded holding %s", vars)
	}
	switch a.Name {
	case runtime.ActionProvision, runtime.ActionUpdate:
		return &runtime.Result{Credentials: map[string]any{"DB_PASSWORD": "CANARY-cred-" + a.InstanceID}}, nil
	case runtime.ActionBind:
		return &runtime.Result{Credentials: map[string]any{"BIND_SECRET": "CANARY-bindcred-" + a.BindingID}}, nil
	}
	return &runtime.Result{}, nil
}

// canaryRun collects what a client and an operator could read.
type canaryRun struct {
	t    *testing.T
	b    *broker
	seen []string // last_operation bodies and error bodies
}

// call sends a request and keeps its body when it is an error.
func (c *canaryRun) call(method, path string, body any) (int, []byte) {
	c.t.Helper()
	status, data, _ := c.b.raw(c.t, method, path, body, nil)
	if status >= 400 {
		c.seen = append(c.seen, fmt.Sprintf("%s %s -> %d %s", method, path, status, data))
	}
	return status, data
}

// wait polls a last_operation route until the operation ends, keeping
// every description it showed.
func (c *canaryRun) wait(path, op string) osbapi.LastOperationResponse {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, data := c.call("GET", path+"?operation="+op, nil)
		c.seen = append(c.seen, string(data))
		if status == 410 {
			// An asynchronous delete that ended: the platform's success.
			return osbapi.LastOperationResponse{State: osbapi.StateSucceeded}
		}
		var lo osbapi.LastOperationResponse
		if status != 200 || json.Unmarshal(data, &lo) != nil {
			c.t.Fatalf("GET %s: %d %s", path, status, data)
		}
		if lo.State != osbapi.StateInProgress {
			return lo
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s still in progress after 30 s", path)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// async starts an operation and waits for it, wanting state.
func (c *canaryRun) async(method, path string, body any, state string) {
	c.t.Helper()
	status, data := c.call(method, path, body)
	if status != 202 {
		c.t.Fatalf("%s %s: %d %s, want 202", method, path, status, data)
	}
	var r struct{ Operation string }
	json.Unmarshal(data, &r)
	lopath, _, _ := strings.Cut(path, "?")
	if lo := c.wait(lopath+"/last_operation", r.Operation); lo.State != state {
		c.t.Fatalf("%s %s ended %s (%s), want %s", method, path, lo.State, lo.Description, state)
	}
}

func TestSecretsCanary(t *testing.T) {
	n := 0
	canary := func(what string) string {
		n++
		return fmt.Sprintf("CANARY-%s-%d-x9q", what, n)
	}
	for _, level := range []string{"debug", "info", "warning", "error"} {
		for _, outputRequest := range []bool{false, true} {
			t.Run(fmt.Sprintf("level=%s,output_request=%v", level, outputRequest), func(t *testing.T) {
				b := startBroker(t, options{logLevel: level, outputRequest: outputRequest, launchOnBind: true,
					more: map[string]string{"vault-apb": vaultAPB}})
				c := &canaryRun{t: t, b: b}
				sid, pid := b.ids(vaultService, "default")
				prov := func(params map[string]any) map[string]any {
					return map[string]any{"service_id": sid, "plan_id": pid, "organization_guid": "o", "space_guid": "s",
						"context": map[string]any{"platform": "kubernetes", "namespace": "team-a"}, "parameters": params}
				}
				secrets := func() map[string]any {
					return map[string]any{"db_passwd": canary("db_passwd"), "pin": canary("pin"), "pwd": canary("pwd"),
						"magic_word": canary("magic_word"), "api_token": canary("api_token"),
						"admin_credential": canary("admin_credential"), "note": "hello"}
				}
				inst := "/v2/service_instances/vault-1"
				q := "?accepts_incomplete=true"
				del := "&service_id=" + sid + "&plan_id=" + pid

				// The whole life of an instance, its bindings and failures.
				c.async("PUT", inst+q, prov(secrets()), osbapi.StateSucceeded)
				c.async("PATCH", inst+q, map[string]any{"service_id": sid, "parameters": map[string]any{
					"db_passwd": canary("db_passwd"), "pin": canary("pin"), "magic_word": canary("magic_word")}}, osbapi.StateSucceeded)
				c.async("PUT", inst+"/service_bindings/bind-1"+q, map[string]any{"service_id": sid, "plan_id": pid,
					"parameters": map[string]any{"bind_pwd": canary("bind_pwd")}}, osbapi.StateSucceeded)
				c.call("GET", inst+"/service_bindings/bind-1", nil)
				for _, leak := range []string{"bind", "bind!"} {
					c.async("PUT", inst+"/service_bindings/bind-"+leak+q, map[string]any{"service_id": sid, "plan_id": pid,
						"parameters": map[string]any{"bind_pwd": canary("bind_pwd"), "bind_leak": leak}}, osbapi.StateFailed)
				}
				for _, leak := range []string{"update", "update!"} {
					c.async("PATCH", inst+q, map[string]any{"service_id": sid, "parameters": map[string]any{
						"db_passwd": canary("db_passwd"), "magic_word": canary("magic_word"), "leak": leak}}, osbapi.StateFailed)
				}
				p := secrets()
				p["leak"] = "provision"
				c.async("PUT", "/v2/service_instances/vault-2"+q, prov(p), osbapi.StateFailed)

				// Requests refused with the secrets in them.
				for _, bad := range []map[string]any{
					{"pin": "CANARY pin with spaces!"},             // pattern
					{"pwd": canary("pwd"), "color": "red"},         // unknown parameter
					{"magic_word": 12345, "pwd": canary("pwd")},    // wrong type
					{"db_passwd": canary("db_passwd"), "note": 42}, // wrong type elsewhere
				} {
					if status, data := c.call("PUT", "/v2/service_instances/vault-bad"+q, prov(bad)); status != 400 {
						t.Errorf("bad parameters %v: %d %s", bad, status, data)
					}
				}
				if status, data := c.call("PUT", inst+q, prov(secrets())); status != 409 {
					t.Errorf("same id, other parameters: %d %s", status, data)
				}
				c.async("DELETE", inst+"/service_bindings/bind-1"+q+del, nil, osbapi.StateSucceeded)
				c.async("DELETE", inst+q+del, nil, osbapi.StateSucceeded)

				// Everything an operator or a client saw.
				logs := b.logs.String()
				if outputRequest && !strings.Contains(logs, `"msg":"request body"`) && (level == "debug" || level == "info") {
					t.Errorf("output_request on but no request body logged")
				}
				if strings.Contains(logs, "CANARY") {
					for _, l := range strings.Split(logs, "\n") {
						if strings.Contains(l, "CANARY") {
							t.Errorf("log line with a secret: %s", l)
						}
					}
				}
				for _, s := range c.seen {
					if strings.Contains(s, "CANARY") {
						t.Errorf("a client saw a secret: %s", s)
					}
				}
				if n < 20 {
					t.Fatalf("only %d canaries sent", n)
				}
			})
		}
	}
}
