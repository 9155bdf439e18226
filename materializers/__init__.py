"""Custom ZenML materializers: no artifact of ours is ever written or read through pickle.

Importing this package registers the materializers with ZenML's materializer registry.
"""

from materializers.classifier_materializer import ClassifierMaterializer
from materializers.evaluation_report_materializer import EvaluationReportMaterializer
from materializers.monitoring_materializer import MonitoringResultMaterializer

__all__ = [
    "ClassifierMaterializer",
    "EvaluationReportMaterializer",
    "MonitoringResultMaterializer",
]
