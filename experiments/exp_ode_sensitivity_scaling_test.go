package main

import (
	"slices"
	"testing"

	"github.com/adjointkit/adjointkit/experiments/internal/runner"
)

// TestODEScalConfig checks that bad values are rejected and that -quick
// keeps the file's smallest width when all are large (the registry test
// checks that the defaults and their quick shrink are accepted).
func TestODEScalConfig(t *testing.T) {
	big := *runner.Defaults[odeScalConfig]("ode_sensitivity_scaling", false)
	big.Hidden = []int{500}
	runner.Quick("ode_sensitivity_scaling", &big)
	if !slices.Equal(big.Hidden, []int{500}) {
		t.Errorf("quick changed hidden = [500] to %v", big.Hidden)
	}
	for _, bad := range []func(*odeScalConfig){
		func(c *odeScalConfig) { c.Hidden = nil },
		func(c *odeScalConfig) { c.Hidden = []int{0} },
		func(c *odeScalConfig) { c.MinTime = -1 },
		func(c *odeScalConfig) { c.State = 0 },
	} {
		b := *runner.Defaults[odeScalConfig]("ode_sensitivity_scaling", false)
		bad(&b)
		if b.Validate() == nil {
			t.Errorf("accepted %+v", b)
		}
	}
}
