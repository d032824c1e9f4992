//go:build tools

// Package tools pins FerretDB v1 (Apache-2.0), the MongoDB-compatible server
// behind the reference backends' ferretdb services (SQLite storage, SCRAM
// users). cli/tools.ts builds it from here. The blank import keeps the
// requirement in go.mod and go.sum; the build tag keeps this file out of
// every ordinary build.
package tools

import (
	_ "github.com/FerretDB/FerretDB/cmd/ferretdb"
)
