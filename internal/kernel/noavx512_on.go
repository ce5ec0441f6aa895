//go:build noavx512

package kernel

// noAVX512 is set by the noavx512 build tag, which limits the amd64 build
// to the AVX2 kernel so that the whole module can be tested on it on a
// machine that has AVX-512.
const noAVX512 = true
