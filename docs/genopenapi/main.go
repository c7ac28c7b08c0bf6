// Command genopenapi writes docs/openapi.json from docs/openapi.yaml (`go generate ./docs`, run
// from the docs directory).
package main

import (
	"log"
	"os"

	"github.com/cadre-training/cadretrain/docs/openapijson"
)

func main() {
	in, err := os.ReadFile("openapi.yaml")
	if err != nil {
		log.Fatal(err)
	}
	out, err := openapijson.Convert(in)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("openapi.json", out, 0o644); err != nil {
		log.Fatal(err)
	}
}
