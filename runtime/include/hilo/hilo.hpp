// Everything hilo offers, in one include, but MPI interop: hilo/mpi.hpp includes <mpi.h>, which
// only a translation unit that calls MPI itself should pay for parsing.
#pragma once

#include "hilo/comm/communicator.hpp"
#include "hilo/dsync.hpp"
#include "hilo/errors.hpp"
#include "hilo/runtime.hpp"
#include "hilo/ipc.hpp"
#include "hilo/sync.hpp"
#include "hilo/version.hpp"
