"""Custom ZenML materializers: no artifact of ours is ever written or read through pickle.

Importing this package registers the materializers with ZenML's materializer registry.
"""

from materializers.classifier_materializer import ClassifierMaterializer
from materializers.data_split_materializer import DataSplitMaterializer
from materializers.drift_report_materializer import DriftReportMaterializer
from materializers.evaluation_report_materializer import EvaluationReportMaterializer
from materializers.monitoring_materializer import MonitoringResultMaterializer
from materializers.promotion_materializer import PromotionRecordMaterializer
from materializers.typed_records import (
    DataVersionMaterializer,
    FeatureSchemaMaterializer,
    RecordModelMaterializer,
)

__all__ = [
    "ClassifierMaterializer",
    "DataSplitMaterializer",
    "DataVersionMaterializer",
    "DriftReportMaterializer",
    "EvaluationReportMaterializer",
    "FeatureSchemaMaterializer",
    "MonitoringResultMaterializer",
    "PromotionRecordMaterializer",
    "RecordModelMaterializer",
]
