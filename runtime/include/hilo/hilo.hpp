// Everything hilo offers, in one include.
#pragma once

#include "hilo/comm/communicator.hpp"
#include "hilo/dsync.hpp"
#include "hilo/errors.hpp"
#include "hilo/runtime.hpp"
#include "hilo/ipc.hpp"
#include "hilo/sync.hpp"
#include "hilo/version.hpp"
