package registry

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// creds are a registry's credentials. Never log or wrap them into errors.
type creds struct {
	User, Pass, Token string
}

func (c creds) empty() bool { return c.User == "" && c.Pass == "" && c.Token == "" }

// credSource reads credentials when a bootstrap starts, so a rotated Secret
// or file is picked up without a restart.
type credSource func(ctx context.Context) (creds, error)

func newCredSource(c Config, o Options) (credSource, error) {
	switch c.AuthType {
	case "", "config":
		cr := creds{User: c.User, Pass: c.Pass, Token: c.Token}
		return func(context.Context) (creds, error) { return cr, nil }, nil
	case "secret":
		if c.AuthName == "" {
			return nil, errors.New("auth_type secret needs auth_name")
		}
		if o.Kube == nil {
			return nil, errors.New("auth_type secret needs a Kubernetes client (openshift: section)")
		}
		if o.Namespace == "" {
			return nil, errors.New("auth_type secret needs the broker namespace (openshift.namespace)")
		}
		return func(ctx context.Context) (creds, error) {
			s, err := o.Kube.CoreV1().Secrets(o.Namespace).Get(ctx, c.AuthName, metav1.GetOptions{})
			if err != nil {
				return creds{}, fmt.Errorf("reading credentials secret %s/%s: %w", o.Namespace, c.AuthName, err)
			}
			cr := creds{
				User:  strings.TrimSpace(string(s.Data["username"])),
				Pass:  strings.TrimSpace(string(s.Data["password"])),
				Token: strings.TrimSpace(string(s.Data["token"])),
			}
			if err := cr.check(c.Type); err != nil {
				return creds{}, fmt.Errorf("credentials secret %s/%s: %w", o.Namespace, c.AuthName, err)
			}
			return cr, nil
		}, nil
	case "file":
		if c.AuthName == "" {
			return nil, errors.New("auth_type file needs auth_name")
		}
		return func(context.Context) (creds, error) {
			data, err := os.ReadFile(c.AuthName)
			if err != nil {
				return creds{}, fmt.Errorf("reading credentials file: %w", err)
			}
			var f struct {
				Username string `yaml:"username"`
				Password string `yaml:"password"`
				Token    string `yaml:"token"`
			}
			if err := yaml.Unmarshal(data, &f); err != nil {
				// The YAML error may quote the file's content: keep it out.
				return creds{}, fmt.Errorf("credentials file %s is not YAML with username, password, token", c.AuthName)
			}
			cr := creds{User: strings.TrimSpace(f.Username), Pass: strings.TrimSpace(f.Password), Token: strings.TrimSpace(f.Token)}
			if err := cr.check(c.Type); err != nil {
				return creds{}, fmt.Errorf("credentials file %s: %w", c.AuthName, err)
			}
			return cr, nil
		}, nil
	}
	return nil, fmt.Errorf("unknown auth_type %q (want config, secret or file)", c.AuthType)
}

func (c creds) check(typ string) error {
	if typ == "quay" && c.Token != "" {
		return nil
	}
	if c.User == "" || c.Pass == "" {
		if typ == "quay" {
			return errors.New("needs token (or username and password)")
		}
		return errors.New("needs username and password")
	}
	return nil
}
