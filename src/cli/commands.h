// Factories of the built-in commands (one file each).
#pragma once

#include "cli/command.h"

namespace forge::cli {

CommandPtr makeGatewayCommand();
CommandPtr makeConfigCommand();
CommandPtr makeTranslateCommand();
CommandPtr makeWrapperCommand();
CommandPtr makeRegisterCommand();
CommandPtr makeTokenCommand();
CommandPtr makeManagerCommand();
CommandPtr makeUpCommand();
CommandPtr makeDownCommand();
CommandPtr makePsCommand();
CommandPtr makeRestartCommand();
CommandPtr makeScaleCommand();
CommandPtr makeLogsCommand();
CommandPtr makeAutoscaleCommand();
CommandPtr makeBackupCommand();
CommandPtr makeDrCommand();
CommandPtr makeDbCommand();
CommandPtr makePruneCommand();
CommandPtr makeIncidentCommand();
CommandPtr makeMonitorCommand();
CommandPtr makeReportCommand();
CommandPtr makeDeployCommand();
CommandPtr makeBlueGreenCommand();
CommandPtr makeHealthCommand();
CommandPtr makeSmokeTestCommand();
CommandPtr makeVerifyCommand();
CommandPtr makeDoctorCommand();
CommandPtr makeStatsCommand();
CommandPtr makeLogLevelCommand();
CommandPtr makeDebugCommand();
CommandPtr makeSecurityCommand();
CommandPtr makeAccessCommand();
CommandPtr makeCertsCommand();

} // namespace forge::cli
