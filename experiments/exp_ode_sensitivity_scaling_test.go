package main

import (
	"math"
	"slices"
	"testing"

	"github.com/adjointkit/adjointkit/ode"

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

// TestODEScalExponent checks the fitted power of p on work ratios that
// grow exactly like p, skipping a method that did not run at every p.
func TestODEScalExponent(t *testing.T) {
	res := &odeScalResult{}
	for _, p := range []int{10, 100, 1000} {
		res.rows = append(res.rows, odeScalRow{np: p, solveStats: ode.Stats{FEvals: 50}, cells: []odeScalCell{
			{ran: true, work: ode.Stats{FEvals: 100, VJPs: 100}},
			{ran: p < 1000, work: ode.Stats{JVPs: 3 * p * 50}},
		}})
	}
	if e, ok := res.exponent(0); !ok || math.Abs(e) > 1e-12 {
		t.Errorf("flat work: exponent %v, %v; want 0", e, ok)
	}
	if e, ok := res.exponent(1); !ok || math.Abs(e-1) > 1e-12 {
		t.Errorf("work ∝ p: exponent %v, %v; want 1", e, ok)
	}
	if got := odeScalPower(-0.001); got != "0.00" {
		t.Errorf("odeScalPower(-0.001) = %q, want 0.00", got)
	}
}
