/* A small valid workspace used as the starting point of the spec tests.
 * Its strings are chosen so that each edit a test makes matches exactly one
 * place.  Channel CR has 5 bins and 4 samples; its sample "d" carries three
 * modifiers so that paths such as
 * channels[1].samples[3].modifiers[2].data.hi_data[4] exist. */
#ifndef SPEC_BASE_H
#define SPEC_BASE_H

static const char spec_base_ws[] =
    "{\n"
    " \"channels\": [\n"
    "  {\"name\": \"SR\", \"samples\": [\n"
    "    {\"name\": \"sig\", \"data\": [1, 2], \"modifiers\": [\n"
    "      {\"name\": \"mu\", \"type\": \"normfactor\", \"data\": null},\n"
    "      {\"name\": \"lumi\", \"type\": \"lumi\", \"data\": null}]},\n"
    "    {\"name\": \"bkg\", \"data\": [10, 20], \"modifiers\": [\n"
    "      {\"name\": \"norm\", \"type\": \"normsys\", \"data\": {\"hi\": 1.1, \"lo\": 0.9}},\n"
    "      {\"name\": \"stat_SR\", \"type\": \"staterror\", \"data\": [1.5, 2.5]}]}\n"
    "  ]},\n"
    "  {\"name\": \"CR\", \"samples\": [\n"
    "    {\"name\": \"a\", \"data\": [1, 1, 1, 1, 1], \"modifiers\": []},\n"
    "    {\"name\": \"b\", \"data\": [2, 2, 2, 2, 2], \"modifiers\": [\n"
    "      {\"name\": \"sf\", \"type\": \"shapefactor\", \"data\": null}]},\n"
    "    {\"name\": \"c\", \"data\": [3, 3, 3, 3, 3], \"modifiers\": [\n"
    "      {\"name\": \"ss\", \"type\": \"shapesys\", \"data\": [0.1, 0.2, 0.3, 0.4, 0.5]}]},\n"
    "    {\"name\": \"d\", \"data\": [4, 4, 4, 4, 4.5], \"modifiers\": [\n"
    "      {\"name\": \"mu\", \"type\": \"normfactor\", \"data\": null},\n"
    "      {\"name\": \"norm\", \"type\": \"normsys\", \"data\": {\"hi\": 1.2, \"lo\": 0.8}},\n"
    "      {\"name\": \"shape\", \"type\": \"histosys\", \"data\": {\"hi_data\": [5, 5, 5, 5, 6], "
    "\"lo_data\": [3, 3, 3, 3, 2]}}]}\n"
    "  ]}\n"
    " ],\n"
    " \"observations\": [\n"
    "  {\"name\": \"SR\", \"data\": [12, 25]},\n"
    "  {\"name\": \"CR\", \"data\": [10, 11, 9, 10, 13]}\n"
    " ],\n"
    " \"measurements\": [\n"
    "  {\"name\": \"meas\", \"config\": {\"poi\": \"mu\", \"parameters\": [\n"
    "    {\"name\": \"mu\", \"inits\": [1.5], \"bounds\": [[0, 10]]},\n"
    "    {\"name\": \"lumi\", \"auxdata\": [1], \"sigmas\": [0.02], \"bounds\": [[0.5, 1.5]], "
    "\"inits\": [1], \"fixed\": false},\n"
    "    {\"name\": \"norm\", \"factors\": [2]}\n"
    "  ]}},\n"
    "  {\"name\": \"alt\", \"config\": {\"poi\": \"norm\", \"parameters\": []}}\n"
    " ],\n"
    " \"version\": \"1.0.0\"\n"
    "}\n";

#endif
