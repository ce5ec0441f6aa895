package main

import (
	"slices"
	"testing"
)

// TestODEScalConfig checks that the defaults and their quick shrink are
// valid, and that bad values are rejected.
func TestODEScalConfig(t *testing.T) {
	e := registry["ode_sensitivity_scaling"]
	c := e.defaults().(*odeScalConfig)
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults rejected: %v", err)
	}
	def := *e.defaults().(*odeScalConfig)
	e.quick(c)
	if err := c.Validate(); err != nil {
		t.Errorf("quick config rejected: %v", err)
	}
	if len(c.Hidden) > len(def.Hidden) || c.MinTime > def.MinTime || c.MaxReps > def.MaxReps ||
		c.ForwardMaxParams > def.ForwardMaxParams || c.FDMaxParams > def.FDMaxParams {
		t.Errorf("quick config %+v is not a shrink of %+v", *c, def)
	}
	big := odeScalConfig{Hidden: []int{500}}
	e.quick(&big)
	if !slices.Equal(big.Hidden, []int{500}) {
		t.Errorf("quick changed hidden = [500] to %v", big.Hidden)
	}
	for _, bad := range []func(*odeScalConfig){
		func(c *odeScalConfig) { c.Hidden = nil },
		func(c *odeScalConfig) { c.Hidden = []int{0} },
		func(c *odeScalConfig) { c.MinTime = -1 },
		func(c *odeScalConfig) { c.State = 0 },
	} {
		b := *e.defaults().(*odeScalConfig)
		bad(&b)
		if b.Validate() == nil {
			t.Errorf("accepted %+v", b)
		}
	}
}
