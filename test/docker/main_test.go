package docker

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	dockerruntime "github.com/openstack-service-broker/openstack-service-broker/pkg/runtime/docker"
)

// TestMain fails the suite when a container of one of its brokers is
// still on the shared engine at the end: each case's cleanup removes its
// own, so one left means a cleanup that does not work.
func TestMain(m *testing.M) {
	code := m.Run()
	if skipped() || engine == nil {
		os.Exit(code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := engine.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("label", dockerruntime.LabelManagedBy+"="+dockerruntime.ManagedBy)})
	if err != nil {
		fmt.Fprintf(os.Stderr, "docker: listing what the suite left: %v\n", err)
		os.Exit(1)
	}
	var left []string
	for _, c := range l.Items {
		if strings.HasPrefix(c.Labels[dockerruntime.LabelBroker], brokerPrefix) {
			left = append(left, strings.Join(c.Names, ","))
		}
	}
	if len(left) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: the suite left containers on the engine: %s\n", strings.Join(left, " "))
		os.Exit(1)
	}
	os.Exit(code)
}
