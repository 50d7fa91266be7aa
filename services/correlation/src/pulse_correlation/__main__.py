from pulse_common.runtime import run_service_main

from pulse_correlation.app import DEFINITION

run_service_main(DEFINITION)
