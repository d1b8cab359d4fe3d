package main

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"

	"github.com/spf13/cobra"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
)

// The scaffold: common/ for every bundle, then generic/ or openstack/.
// Templates use [[ ]] so that Ansible's {{ }} stays as it is; _name_ in
// a path is the bundle's name.
//
//go:embed all:scaffold
var scaffold embed.FS

// Base images of scaffolded bundles: those `make images` builds.
const (
	apbBaseImage       = "openstack-service-broker/apb-base:latest"
	openstackBaseImage = "openstack-service-broker/openstack-apb:latest"
)

type scaffoldData struct {
	Name, Short, Description, LongDescription, DisplayName, Provider, PlanDescription string
	Bindable                                                                          bool
	Async, Base                                                                       string
	OpenStack                                                                         bool
}

var bundleName = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$`)

func (c *cli) initCmd() *cobra.Command {
	var d scaffoldData
	var force bool
	cmd := &cobra.Command{
		Use:   "init NAME",
		Short: "Scaffold a bundle in directory NAME (apb.yml, playbooks, role, Dockerfile, README)",
		Long: `Scaffold a bundle in directory NAME: apb.yml, playbooks for each action, a role with the
tasks, a Dockerfile FROM apb-base (FROM openstack-apb with --openstack: a bundle that
manages a Neutron network through the openstack.cloud modules) with its spec label, and
a README. It lints clean, builds with apb build and runs with apb run.`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			dir := a[0]
			d.Name = filepath.Base(filepath.Clean(dir))
			if !bundleName.MatchString(d.Name) {
				return usageErrorf("bundle name %q: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit", d.Name)
			}
			switch d.Async {
			case "optional", "required", "unsupported":
			default:
				return usageErrorf("--async %q: want optional, required or unsupported", d.Async)
			}
			d.Short = strings.TrimSuffix(d.Name, "-apb")
			d.DisplayName = displayName(d.Short) + " (APB)"
			d.Provider = "openstack-service-broker"
			if d.OpenStack {
				d.Description = "Creates a Neutron network in OpenStack and hands its id to bound applications"
				d.LongDescription = "Provision creates a network in the project of the mapped OpenStack credentials; bind returns its id, name and MTU; deprovision deletes it."
				d.PlanDescription = "One Neutron network"
				if d.Base == "" {
					d.Base = openstackBaseImage
				}
			} else {
				d.Description = "Says hello, and hands the greeting to bound applications"
				d.LongDescription = "A starting point: each action reports its progress, provision and bind hand out credentials, test records a result."
				d.PlanDescription = "The default plan"
				if d.Base == "" {
					d.Base = apbBaseImage
				}
			}
			files, err := renderScaffold(d)
			if err != nil {
				return err
			}
			if err := writeScaffold(dir, files, force); err != nil {
				return err
			}
			c.say("created bundle %s in %s/ (FROM %s)", d.Name, dir, d.Base)
			c.say("next: cd %s && apb lint && apb build && apb run provision", dir)
			return nil
		},
	}
	cmd.Flags().BoolVar(&d.OpenStack, "openstack", false, "an OpenStack bundle, FROM openstack-apb (openstacksdk, openstack.cloud)")
	cmd.Flags().BoolVar(&d.Bindable, "bindable", true, "the bundle is bindable (bind and unbind playbooks)")
	cmd.Flags().StringVar(&d.Async, "async", "optional", "apb.yml async: optional, required or unsupported")
	cmd.Flags().StringVar(&d.Base, "base", "", "the FROM image (default "+apbBaseImage+", or "+openstackBaseImage+" with --openstack)")
	cmd.Flags().BoolVar(&force, "force", false, "write into an existing directory, replacing the scaffold's files")
	return cmd
}

func displayName(s string) string {
	words := strings.FieldsFunc(s, func(r rune) bool { return r == '-' || r == '.' || r == '_' })
	for i, w := range words {
		words[i] = strings.ToUpper(w[:1]) + w[1:]
	}
	return strings.Join(words, " ")
}

// renderScaffold returns the bundle's files by path.
func renderScaffold(d scaffoldData) (map[string][]byte, error) {
	out := map[string][]byte{}
	flavour := "generic"
	if d.OpenStack {
		flavour = "openstack"
	}
	for _, root := range []string{"scaffold/common", "scaffold/" + flavour} {
		err := fs.WalkDir(scaffold, root, func(p string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return err
			}
			rel := strings.TrimSuffix(strings.TrimPrefix(p, root+"/"), ".tmpl")
			rel = strings.ReplaceAll(rel, "_name_", d.Name)
			base := strings.TrimSuffix(path.Base(rel), ".yml")
			if !d.Bindable && (base == "bind" || base == "unbind") {
				return nil
			}
			text, err := scaffold.ReadFile(p)
			if err != nil {
				return err
			}
			t, err := template.New(p).Delims("[[", "]]").Option("missingkey=error").Parse(string(text))
			if err != nil {
				return fmt.Errorf("scaffold %s: %w", p, err)
			}
			var b bytes.Buffer
			if err := t.Execute(&b, d); err != nil {
				return fmt.Errorf("scaffold %s: %w", p, err)
			}
			out[rel] = b.Bytes()
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	// The spec label, as apb prepare writes it.
	df, err := apb.SetDockerfileSpec(out["Dockerfile"], out["apb.yml"], false)
	if err != nil {
		return nil, fmt.Errorf("scaffold Dockerfile: %w", err)
	}
	out["Dockerfile"] = df
	return out, nil
}

func writeScaffold(dir string, files map[string][]byte, force bool) error {
	if _, err := os.Stat(dir); err == nil && !force {
		return usageErrorf("%s exists: choose another name, or --force to write the scaffold into it", dir)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for rel, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
