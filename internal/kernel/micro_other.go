//go:build !amd64 || purego

package kernel

// available lists the kernels this build can run: the portable one only.
func available() []*microKernel { return []*microKernel{portable} }

// vmConstN and vmConst stand in for the assembly's constant table, which
// this build does not have.
const vmConstN = 1

var vmConst [vmConstN][8]float64
