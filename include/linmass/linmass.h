/* Every public header of linmass at once: #include <linmass/linmass.h>. */
#ifndef LINMASS_LINMASS_H
#define LINMASS_LINMASS_H

#include "linmass/version.h"
#include "linmass/error.h"
#include "linmass/runtime.h"
#include "linmass/rng.h"
#include "linmass/model.h"
#include "linmass/optim.h"
#include "linmass/data.h"
#include "linmass/io.h"
#include "linmass/exec.h"
#include "linmass/dist.h"
#include "linmass/train.h"
#include "linmass/theory.h"
#include "linmass/probe.h"
#include "linmass/bench.h"
#include "linmass/report.h"
#include "linmass/abi.h"

#endif
