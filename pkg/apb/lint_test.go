package apb_test

import (
	"strings"
	"testing"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/apb"
)

const lintClean = `version: '1.0'
name: good-apb
description: A good bundle
bindable: true
async: optional
tags: [openstack]
metadata:
  displayName: Good
  longDescription: Does good things
  providerDisplayName: Someone
plans:
  - name: default
    description: The plan
    free: true
    metadata: {displayName: Default}
    parameters:
      - {name: size, title: Size, type: int, required: true}
      - {name: admin_password, title: Password, type: string, display_type: password}
      - {name: credentials_secret, title: Secret, type: string}
    bind_parameters:
      - {name: read_only, title: Read only, type: boolean}
`

func TestLint(t *testing.T) {
	cases := []struct {
		name    string
		edit    func(string) string
		mutate  func(*apb.Spec)
		opts    apb.LintOptions
		wantErr []string
	}{
		{name: "clean", edit: func(s string) string { return s }, opts: apb.LintOptions{Tags: []string{"openstack"}, Free: true}},
		{name: "no display name", edit: func(s string) string { return strings.Replace(s, "  displayName: Good\n", "", 1) },
			wantErr: []string{`metadata.displayName: is required`}},
		{name: "plan without display name", edit: func(s string) string {
			return strings.Replace(s, "metadata: {displayName: Default}", "metadata: {}", 1)
		},
			wantErr: []string{`plans[0].metadata.displayName: is required`}},
		{name: "required after optional", edit: func(s string) string {
			return strings.Replace(s, "{name: credentials_secret, title: Secret, type: string}", "{name: credentials_secret, title: Secret, type: string, required: true}", 1)
		}, wantErr: []string{`plans[0].parameters[2].required: required parameter "credentials_secret" after optional "admin_password"`}},
		{name: "password shown in clear", edit: func(s string) string { return strings.Replace(s, ", display_type: password", "", 1) },
			wantErr: []string{`plans[0].parameters[1].display_type: parameter "admin_password" holds a secret`}},
		{name: "no title", edit: func(s string) string { return strings.Replace(s, "title: Read only, ", "", 1) },
			wantErr: []string{`plans[0].bind_parameters[0].title: is required`}},
		{name: "registry tag", edit: func(s string) string { return strings.Replace(s, "tags: [openstack]", "tags: [compute]", 1) },
			opts: apb.LintOptions{Tags: []string{"openstack"}}, wantErr: []string{`tags: must include "openstack"`}},
		{name: "not free", edit: func(s string) string { return strings.Replace(s, "free: true", "free: false", 1) },
			opts: apb.LintOptions{Free: true}, wantErr: []string{`plans[0].free: must be true`}},
		{name: "structural errors too", edit: func(s string) string { return s },
			mutate:  func(s *apb.Spec) { s.Plans[0].Parameters[0].Type = "widget" },
			wantErr: []string{`plans[0].parameters[0].type: unknown type "widget"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := apb.Parse([]byte(c.edit(lintClean)), "good")
			if err != nil {
				t.Fatal(err)
			}
			if c.mutate != nil {
				c.mutate(s)
			}
			err = apb.Lint(s, "good", c.opts)
			if len(c.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Lint: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Lint passed, want %q", c.wantErr)
			}
			for _, w := range c.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Lint error %q does not contain %q", err, w)
				}
			}
		})
	}
}
