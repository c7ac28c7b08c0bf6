// Command render-xlsx is the render-xlsx Lambda function (see template.yaml): hr-api's xlsx
// exports, rendered with excelize apart from hr-api (shared/sheet/xlsx/xlsxfn says why).
package main

import "github.com/cadre-training/cadretrain/shared/sheet/xlsx/xlsxfn"

func main() { xlsxfn.Start() }
