package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/osb/osbclient"
)

// defaultBrokerURL is where `make run` serves the broker.
const defaultBrokerURL = "http://127.0.0.1:1338"

// fileConfig is ~/.config/apb/config.yaml.
type fileConfig struct {
	Broker struct {
		URL          string `yaml:"url"`
		User         string `yaml:"user"`
		Password     string `yaml:"password"`
		PasswordFile string `yaml:"password_file"`
		TokenFile    string `yaml:"token_file"`
		CAFile       string `yaml:"ca_file"`
		Insecure     bool   `yaml:"insecure_skip_tls_verify"`
	} `yaml:"broker"`
	// Namespace is the context.namespace of provisions.
	Namespace string `yaml:"namespace"`
	// Output is the default -o.
	Output string `yaml:"output"`
	// Clouds and Cloud are apb run's default clouds.yaml and cloud.
	Clouds string `yaml:"clouds"`
	Cloud  string `yaml:"cloud"`
}

// globals are the flags every command has.
type globals struct {
	config    string
	broker    string
	user      string
	password  string
	token     string
	caFile    string
	insecure  bool
	output    string
	namespace string
}

func (g *globals) register(fs *pflag.FlagSet) {
	fs.StringVar(&g.config, "config", "", "config file (env APB_CONFIG; default $XDG_CONFIG_HOME/apb/config.yaml)")
	fs.StringVar(&g.broker, "broker", "", "broker URL, prefix included (env APB_BROKER_URL; default "+defaultBrokerURL+")")
	fs.StringVar(&g.user, "user", "", "basic auth user (env APB_USER)")
	fs.StringVar(&g.password, "password", "", "basic auth password (env APB_PASSWORD; a flag is visible to other local users, prefer the env or the config file)")
	fs.StringVar(&g.token, "token", "", "bearer token instead of basic auth (env APB_TOKEN)")
	fs.StringVar(&g.caFile, "ca-file", "", "CA certificate(s) to verify the broker with (env APB_CA_FILE)")
	fs.BoolVar(&g.insecure, "insecure-skip-tls-verify", false, "do not verify the broker's certificate (env APB_INSECURE_SKIP_TLS_VERIFY)")
	fs.StringVarP(&g.output, "output", "o", "", "output format: table, json or yaml (env APB_OUTPUT; default table)")
}

// settings are the resolved configuration: flag, else environment, else
// config file, else default.
type settings struct {
	brokerURL, user, password, token string
	caFile                           string
	insecure                         bool
	output                           string
	namespace                        string
	clouds, cloud                    string
	configPath                       string
}

func configPath(g *globals, getenv func(string) string) string {
	if g.config != "" {
		return g.config
	}
	if p := getenv("APB_CONFIG"); p != "" {
		return p
	}
	dir := getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home := getenv("HOME")
		if home == "" {
			return ""
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "apb", "config.yaml")
}

// loadSettings resolves the settings; flags says which were given. A config file named by --config or APB_CONFIG must exist; the
// default one may not.
func loadSettings(g *globals, flags *pflag.FlagSet, getenv func(string) string, warn func(string)) (*settings, error) {
	path := configPath(g, getenv)
	var fc fileConfig
	if path != "" {
		data, err := os.ReadFile(path)
		switch {
		case err == nil:
			if err := decodeConfig(data, &fc); err != nil {
				return nil, usageErrorf("config file %s: %v", path, err)
			}
			if fc.Broker.Password != "" {
				if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
					warn(fmt.Sprintf("config file %s holds a password and others may read it (chmod 600 %s)", path, path))
				}
			}
		case errors.Is(err, fs.ErrNotExist) && g.config == "" && getenv("APB_CONFIG") == "":
		default:
			return nil, usageErrorf("config file: %v", err)
		}
	}
	pick := func(flag, flagVal, env, file, def string) string {
		if flags.Changed(flag) {
			return flagVal
		}
		if v := getenv(env); v != "" {
			return v
		}
		if file != "" {
			return file
		}
		return def
	}
	s := &settings{configPath: path}
	s.brokerURL = pick("broker", g.broker, "APB_BROKER_URL", fc.Broker.URL, defaultBrokerURL)
	s.user = pick("user", g.user, "APB_USER", fc.Broker.User, "")
	s.password = pick("password", g.password, "APB_PASSWORD", fc.Broker.Password, "")
	s.token = pick("token", g.token, "APB_TOKEN", "", "")
	s.caFile = pick("ca-file", g.caFile, "APB_CA_FILE", fc.Broker.CAFile, "")
	s.output = pick("output", g.output, "APB_OUTPUT", fc.Output, "table")
	s.namespace = fc.Namespace
	s.clouds, s.cloud = fc.Clouds, fc.Cloud
	s.insecure = fc.Broker.Insecure
	if v := getenv("APB_INSECURE_SKIP_TLS_VERIFY"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, usageErrorf("APB_INSECURE_SKIP_TLS_VERIFY=%q: want true or false", v)
		}
		s.insecure = b
	}
	if flags.Changed("insecure-skip-tls-verify") {
		s.insecure = g.insecure
	}
	if s.password == "" && fc.Broker.PasswordFile != "" {
		b, err := os.ReadFile(fc.Broker.PasswordFile)
		if err != nil {
			return nil, usageErrorf("config file %s: broker.password_file: %v", path, err)
		}
		s.password = strings.TrimRight(string(b), "\r\n")
	}
	if s.token == "" && fc.Broker.TokenFile != "" {
		b, err := os.ReadFile(fc.Broker.TokenFile)
		if err != nil {
			return nil, usageErrorf("config file %s: broker.token_file: %v", path, err)
		}
		s.token = strings.TrimSpace(string(b))
	}
	switch s.output {
	case "table", "json", "yaml":
	default:
		return nil, usageErrorf("output format %q: want table, json or yaml", s.output)
	}
	u, err := url.Parse(s.brokerURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageErrorf("broker URL %q: want http(s)://host:port[/prefix]", s.brokerURL)
	}
	return s, nil
}

// decodeConfig reads the file strictly: a misspelt key is an error that
// names it and its line.
func decodeConfig(data []byte, fc *fileConfig) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(fc); err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
	}
	return nil
}

// client makes the OSB client from the settings.
func (s *settings) client(timeout time.Duration) (*osbclient.Client, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: s.insecure} //nolint:gosec // the user asked
	if s.caFile != "" {
		pem, err := os.ReadFile(s.caFile)
		if err != nil {
			return nil, usageErrorf("CA file: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, usageErrorf("CA file %s: no PEM certificate in it", s.caFile)
		}
		tc.RootCAs = pool
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	return osbclient.New(osbclient.Options{
		URL: s.brokerURL, Username: s.user, Password: s.password, BearerToken: s.token,
		HTTPClient: &http.Client{Transport: tr, Timeout: timeout},
	}), nil
}
