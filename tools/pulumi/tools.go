//go:build tools

// Package tools pins the Pulumi CLI that `landform tools` builds. The blank
// import keeps its requirements in go.mod and go.sum; the build tag keeps this
// file out of every ordinary build. The Node.js language host is our own, in
// cmd/pulumi-language-nodejs.
package tools

import (
	_ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
)
