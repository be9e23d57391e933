"""recast: block-wise network recasting (Yu, Kang and Choi, AAAI 2019) of any model with a
stem, blocks and a head into other block types or widths, scored by sc_accel.hw."""

from recast.blocks import BLOCKS, block_type_of, conv_bn, create_block
from recast.net import RecastNet, split_model
from recast.plan import PRESETS, BlockPlan, resolve_plan
from recast.procedure import RecastConfig, RecastResult, build_student, recast

__all__ = ["BLOCKS", "block_type_of", "conv_bn", "create_block", "PRESETS", "BlockPlan", "resolve_plan",
           "RecastConfig", "RecastNet", "RecastResult", "build_student", "recast", "split_model"]
